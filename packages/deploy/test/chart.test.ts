// The Helm chart, rendered and linted by the real helm v4 (scripts/install-deps.sh unpacks it): every
// values file of charts/rds-csi/ci/ lints with --strict, every rendered object validates against the
// Kubernetes (and Prometheus Operator) OpenAPI schemas, bad values are refused, and what each value
// turns into is what the services and kubelet need.
import { readFileSync, existsSync } from "node:fs";
import yaml from "js-yaml";
import { runToExit } from "@rds-csi/testkit";
import { find, lintChart, renderChart, renderError, REQUIRED_VALUES, valuesFile, type KubeDoc } from "./support/helm.js";
import { validateAgainstSchema } from "./support/kube-schemas.js";
import { CHART_DIR, REPO_ROOT } from "./support/repo.js";
import { COMPONENTS, flagsInHelp, SERVICES, type Component } from "./support/services.js";
import { generatedFiles } from "../src/generated-files.js";
import { parseHelp } from "../src/settings-reference.js";

const VALUES_FILES = ["controller-off", "node-off", "reconciler-off", "snapshots", "monitoring", "ha"] as const;
const renders = new Map<string, KubeDoc[]>();

type Container = { name: string; image: string; args?: string[]; volumeMounts?: { name: string; mountPath: string; mountPropagation?: string }[]; securityContext?: Record<string, unknown> };
type PodSpec = { containers: Container[]; volumes?: { name: string; hostPath?: { path: string } }[]; hostNetwork?: boolean; hostPID?: boolean; securityContext?: Record<string, unknown> };
const podSpec = (doc: KubeDoc): PodSpec => (doc.spec as { template: { spec: PodSpec } }).template.spec;
const container = (doc: KubeDoc, name: string): Container => {
  const found = podSpec(doc).containers.find((c) => c.name === name);
  if (!found) throw new Error(`${doc.metadata.name} has no container ${name}`);
  return found;
};
const componentOf = (doc: KubeDoc): string | undefined => doc.metadata.labels?.["app.kubernetes.io/component"];

beforeAll(async () => {
  renders.set("required", await renderChart());
  for (const name of VALUES_FILES) renders.set(name, await renderChart([REQUIRED_VALUES, valuesFile(name)]));
}, 60_000);

describe("helm lint --strict", () => {
  test.each(["required", ...VALUES_FILES])("passes with the %s values", async (name) => {
    const result = await lintChart(name === "required" ? [REQUIRED_VALUES] : [REQUIRED_VALUES, valuesFile(name)]);
    expect(`${result.stdout}${result.stderr}`).toContain("0 chart(s) failed");
    expect(result.code).toBe(0);
  });
});

describe("the chart's defaults", () => {
  test("refuse to install without the RDS's address, host key and SSH key, each named", async () => {
    expect(await renderError([])).toContain("rds.address is required");
    expect(await renderError([], ["rds.address=192.0.2.1"])).toContain("rds.hostKeyFingerprint (or rds.knownHosts) is required");
    expect(await renderError([], ["rds.address=192.0.2.1", "rds.insecureSkipHostKeyCheck=true"])).toContain("rds.credentials.existingSecret or rds.credentials.privateKey is required");
  });

  test("render with only those given, all three components on", () => {
    const docs = renders.get("required")!;
    expect(docs.filter((d) => ["Deployment", "DaemonSet"].includes(d.kind)).map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      "DaemonSet/rds-rds-csi-node",
      "Deployment/rds-rds-csi-controller",
      "Deployment/rds-rds-csi-reconciler",
    ]);
  });
});

describe("every rendered object", () => {
  test.each(["required", ...VALUES_FILES])("validates against its schema (%s values)", (name) => {
    const docs = renders.get(name)!;
    expect(docs.length).toBeGreaterThan(10);
    const failures = docs.flatMap((doc) => {
      try {
        validateAgainstSchema(doc);
        return [];
      } catch (err) {
        return [(err as Error).message];
      }
    });
    expect(failures).toEqual([]);
  });

  test("a schema violation is caught (the validation is not a no-op)", () => {
    const deployment = find(renders.get("required")!, "Deployment", "rds-rds-csi-controller");
    const broken = { ...deployment, spec: { ...(deployment.spec as object), replicas: "two" } };
    expect(() => validateAgainstSchema(broken)).toThrow(/replicas/);
  });
});

describe("values.schema.json", () => {
  test.each([
    [["controller.replcas=2"], "additional properties 'replcas' not allowed"],
    [["node.metricsPort=abc"], "/node/metricsPort': got string, want integer"],
    [["rds.sshPort=70000"], "/rds/sshPort"],
    [["controller.logLevel=verbose"], "/controller/logLevel"],
    [["rds.copyStrategyTrust=yes"], "/rds/copyStrategyTrust"],
    [["rds.hostKeyFingerprint=MD5:aa:bb"], "/rds/hostKeyFingerprint"],
    [["storageClasses[0].fsType=btrfs"], "/storageClasses/0/fsType"],
    [["storageClasses[0].parameters.nvmeport=4420"], "additional properties 'nvmeport' not allowed"],
    [["node.staleMountCheckInterval=15"], "/node/staleMountCheckInterval"],
    [["controller.image.digest=latest"], "/controller/image/digest"],
    [["monitoring.serviceMonitor.enabeld=true"], "additional properties 'enabeld' not allowed"],
  ])("refuses %j", async (set, message) => {
    expect(await renderError([REQUIRED_VALUES], set)).toContain(message);
  });
});

describe("components are independent", () => {
  test.each(COMPONENTS)("turning %s off removes exactly its objects", (component) => {
    const all = renders.get("required")!;
    const off = renders.get(`${component}-off`)!;
    const ids = (docs: KubeDoc[]) => docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
    expect(off.some((d) => componentOf(d) === component)).toBe(false);
    expect(ids(off)).toEqual(ids(all.filter((d) => componentOf(d) !== component)));
  });

  test.each(COMPONENTS)("a new %s image changes that workload's manifest and nothing else", async (component) => {
    const before = renders.get("required")!;
    const after = await renderChart([REQUIRED_VALUES], [`${component}.image.tag=9.9.9`]);
    const changed = after.filter((doc, i) => JSON.stringify(doc) !== JSON.stringify(before[i])).map((d) => `${d.kind}/${d.metadata.name}`);
    const workload = component === "node" ? "DaemonSet/rds-rds-csi-node" : `Deployment/rds-rds-csi-${component}`;
    expect(changed).toEqual([workload]);
    expect(JSON.stringify(after.find((d) => `${d.kind}/${d.metadata.name}` === workload))).toContain(`rds-csi-${component}:9.9.9`);
  });

  test("a digest pins the image and wins over the tag", async () => {
    const digest = `sha256:${"a1".repeat(32)}`;
    const docs = await renderChart([REQUIRED_VALUES], [`node.image.digest=${digest}`]);
    expect(container(find(docs, "DaemonSet", "rds-rds-csi-node"), "csi-node").image).toBe(`ghcr.io/rds-csi/rds-csi-node@${digest}`);
  });
});

describe("the services get only flags and variables they have", () => {
  const helps = new Map<Component, Set<string>>();
  const envs = new Map<Component, Set<string>>();
  beforeAll(async () => {
    for (const component of COMPONENTS) {
      const result = await runToExit(SERVICES[component].main, ["--help"]);
      expect(result.code).toBe(0);
      helps.set(component, flagsInHelp(result.stdout));
      envs.set(component, new Set(parseHelp(result.stdout).map((s) => s.env)));
    }
    // The node container also carries the self-check's settings (node.selfcheck.enabled), for `kubectl exec`.
    const selfcheck = await runToExit(SERVICES.node.main, ["selfcheck", "--help"]);
    for (const setting of parseHelp(selfcheck.stdout)) envs.get("node")!.add(setting.env);
  });

  test.each(["required", ...VALUES_FILES])("every variable of the driver containers is a setting of the service (%s values)", (name) => {
    for (const component of COMPONENTS) {
      const workload = renders.get(name)!.find((d) => componentOf(d) === component && ["Deployment", "DaemonSet"].includes(d.kind));
      if (!workload) continue;
      const env = (container(workload, SERVICES[component].container) as unknown as { env?: { name: string }[] }).env ?? [];
      expect({ component, unknown: env.map((e) => e.name).filter((variable) => !envs.get(component)!.has(variable)) }).toEqual({ component, unknown: [] });
    }
  });

  test.each(["required", ...VALUES_FILES])("every flag of the driver containers is in the service's --help (%s values)", (name) => {
    for (const component of COMPONENTS) {
      const workload = renders.get(name)!.find((d) => componentOf(d) === component && ["Deployment", "DaemonSet"].includes(d.kind));
      if (!workload) continue;
      const args = container(workload, SERVICES[component].container).args ?? [];
      const unknown = args.map((arg) => arg.split("=")[0]!).filter((flag) => !helps.get(component)!.has(flag));
      expect({ component, unknown }).toEqual({ component, unknown: [] });
    }
  });
});

describe("what the cluster gets", () => {
  test("snapshots (sidecar, its RBAC, the VolumeSnapshotClass) only once the copy strategy is trusted", () => {
    const plain = renders.get("required")!;
    const trusted = renders.get("snapshots")!;
    const controllerOf = (docs: KubeDoc[]) => podSpec(find(docs, "Deployment", "rds-rds-csi-controller")).containers.map((c) => c.name);
    expect(controllerOf(plain)).not.toContain("csi-snapshotter");
    expect(plain.some((d) => d.kind === "VolumeSnapshotClass" || d.metadata.name.endsWith("external-snapshotter"))).toBe(false);
    expect(controllerOf(trusted)).toContain("csi-snapshotter");
    expect(find(trusted, "VolumeSnapshotClass", "rds-nvme-snapshot")).toMatchObject({ driver: "rds.csi.srvlab.io", deletionPolicy: "Delete" });
    expect(container(find(trusted, "Deployment", "rds-rds-csi-controller"), "csi-controller").args).toContain("--copy-strategy-trust=verified");
  });

  test("storageCapacity on the CSIDriver only together with the provisioner's capacity objects", () => {
    for (const [name, on] of [["required", false], ["ha", true]] as const) {
      const docs = renders.get(name)!;
      expect((find(docs, "CSIDriver", "rds.csi.srvlab.io").spec as { storageCapacity: boolean }).storageCapacity).toBe(on);
      const args = container(find(docs, "Deployment", "rds-rds-csi-controller"), "csi-provisioner").args!;
      expect(args.includes("--enable-capacity=true")).toBe(on);
    }
  });

  test("sidecars: leader election, --extra-create-metadata, topology, pinned releases", () => {
    const deployment = find(renders.get("required")!, "Deployment", "rds-rds-csi-controller");
    const provisioner = container(deployment, "csi-provisioner");
    expect(provisioner.image).toBe("registry.k8s.io/sig-storage/csi-provisioner:v6.3.0");
    expect(provisioner.args).toEqual(expect.arrayContaining(["--leader-election=true", "--leader-election-namespace=rds-csi", "--extra-create-metadata=true", "--feature-gates=Topology=true"]));
    for (const name of ["csi-attacher", "csi-resizer"]) expect(container(deployment, name).args).toContain("--leader-election=true");
    const liveness = container(deployment, "liveness-probe");
    expect(liveness.args).toContain("--csi-address=/var/lib/csi/sockets/pluginproxy/csi.sock");
  });

  test("the node DaemonSet: privileged, host /dev, /sys, /etc/nvme, kubelet dir Bidirectional, host network, no host PID", () => {
    const daemonSet = find(renders.get("required")!, "DaemonSet", "rds-rds-csi-node");
    const spec = podSpec(daemonSet);
    const plugin = container(daemonSet, "csi-node");
    expect(plugin.securityContext).toMatchObject({ privileged: true });
    expect(spec.hostNetwork).toBe(true);
    expect(spec.hostPID).toBeUndefined();
    const hostPaths = Object.fromEntries((spec.volumes ?? []).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
    const mounts = Object.fromEntries((plugin.volumeMounts ?? []).map((m) => [m.mountPath, { path: hostPaths[m.name], propagation: m.mountPropagation }]));
    expect(mounts).toMatchObject({
      "/dev": { path: "/dev" },
      "/sys": { path: "/sys" },
      "/host/etc/nvme": { path: "/etc/nvme" },
      "/var/lib/kubelet": { path: "/var/lib/kubelet", propagation: "Bidirectional" },
      "/csi": { path: "/var/lib/kubelet/plugins/rds.csi.srvlab.io" },
    });
    expect(plugin.args).toEqual(expect.arrayContaining(["--node-id=$(NODE_ID)", "--managed-nqn-prefix=nqn.2000-02.com.mikrotik:"]));
    expect((plugin as unknown as { env: { name: string; value?: string }[] }).env).toContainEqual({ name: "ETC_DIR", value: "/host/etc" });
    expect(container(daemonSet, "node-driver-registrar").args).toContain("--kubelet-registration-path=/var/lib/kubelet/plugins/rds.csi.srvlab.io/csi.sock");
  });

  test("the node plugin gets the RDS settings and key only with node.selfcheck.enabled, as variables `kubectl exec` inherits", async () => {
    const envOf = (docs: KubeDoc[]) => ((container(find(docs, "DaemonSet", "rds-rds-csi-node"), "csi-node") as unknown as { env: { name: string }[] }).env).map((e) => e.name);
    expect(envOf(renders.get("required")!)).not.toContain("RDS_ADDRESS");
    expect(JSON.stringify(find(renders.get("required")!, "DaemonSet", "rds-rds-csi-node"))).not.toContain("rds-credentials");
    const withSelfcheck = renders.get("snapshots")!;
    expect(envOf(withSelfcheck)).toEqual(expect.arrayContaining(["RDS_ADDRESS", "RDS_PRIVATE_KEY_FILE", "RDS_HOST_KEY_FINGERPRINT", "RDS_BASE_PATH", "NQN_PREFIX"]));
    expect(JSON.stringify(find(withSelfcheck, "DaemonSet", "rds-rds-csi-node"))).toContain('"secretName":"rds-csi-ssh"');
  });

  test("controller and reconciler run as non-root", () => {
    const docs = renders.get("required")!;
    for (const name of ["rds-rds-csi-controller", "rds-rds-csi-reconciler"]) {
      expect(podSpec(find(docs, "Deployment", name)).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    }
  });

  test("credentials: an existing secret is used as it is; a key from values becomes a Secret; a known_hosts line a ConfigMap", () => {
    const existing = renders.get("required")!;
    expect(existing.some((d) => d.kind === "Secret")).toBe(false);
    expect(JSON.stringify(find(existing, "Deployment", "rds-rds-csi-controller"))).toContain('"secretName":"rds-csi-ssh"');
    const ha = renders.get("ha")!;
    expect(Object.keys((find(ha, "Secret", "rds-rds-csi-rds-credentials").data as object))).toEqual(["ssh-privatekey"]);
    expect(find(ha, "ConfigMap", "rds-rds-csi-rds-host-key").data).toEqual({ known_hosts: expect.stringContaining("ssh-ed25519") });
    expect(container(find(ha, "Deployment", "rds-rds-csi-controller"), "csi-controller").args).toContain("--rds-known-hosts-file=/etc/rds-csi/host-key/known_hosts");
  });

  test("StorageClasses: filesystem and block examples, WaitForFirstConsumer, expansion, topology when set", () => {
    const fs = find(renders.get("required")!, "StorageClass", "rds-nvme");
    expect(fs).toMatchObject({ provisioner: "rds.csi.srvlab.io", volumeBindingMode: "WaitForFirstConsumer", allowVolumeExpansion: true, parameters: { "csi.storage.k8s.io/fstype": "ext4" } });
    expect(find(renders.get("required")!, "StorageClass", "rds-nvme-block").parameters).toEqual({ ctrlLossTmo: "-1", migrationWindowSeconds: "300" });
    expect(find(renders.get("ha")!, "StorageClass", "rds-nvme").allowedTopologies).toEqual([{ matchLabelExpressions: [{ key: "topology.rds.csi.srvlab.io/rds", values: ["rack1"] }] }]);
  });
});

describe("monitoring", () => {
  test("a metrics Service per component, a ServiceMonitor per component when asked", () => {
    const plain = renders.get("required")!;
    expect(plain.filter((d) => d.kind === "Service").map((d) => d.metadata.name).sort()).toEqual(["rds-rds-csi-controller-metrics", "rds-rds-csi-node-metrics", "rds-rds-csi-reconciler-metrics"]);
    expect(plain.some((d) => d.kind === "ServiceMonitor" || d.kind === "PrometheusRule")).toBe(false);
    const monitored = renders.get("monitoring")!;
    expect(monitored.filter((d) => d.kind === "ServiceMonitor").map((d) => d.metadata.labels?.release)).toEqual(["kube-prometheus-stack", "kube-prometheus-stack", "kube-prometheus-stack"]);
  });

  test("the PrometheusRule carries the tested rule file's alerts, runbook links pointing at the configured base", () => {
    const rules = yaml.load(readFileSync(`${CHART_DIR}/files/alerts.rules.yaml`, "utf8")) as { groups: { name: string; rules: { alert: string; annotations: Record<string, string> }[] }[] };
    const rendered = find(renders.get("monitoring")!, "PrometheusRule", "rds-rds-csi").spec as typeof rules;
    expect(rendered.groups.map((g) => g.name)).toEqual(rules.groups.map((g) => g.name));
    const expected = rules.groups.map((g) => ({ ...g, rules: g.rules.map((r) => ({ ...r, annotations: { ...r.annotations, runbook_url: r.annotations.runbook_url!.replace("docs/runbooks", "https://docs.example.org/rds-csi/runbooks") } })) }));
    expect(rendered).toEqual({ groups: expected });
  });

  test("every alert has its runbook in docs/runbooks/", () => {
    const rules = readFileSync(`${CHART_DIR}/files/alerts.rules.yaml`, "utf8");
    const runbooks = [...rules.matchAll(/runbook_url: (docs\/runbooks\/\S+\.md)/g)].map((m) => m[1]!);
    expect(runbooks.length).toBe([...rules.matchAll(/- alert: /g)].length);
    expect(runbooks.filter((path) => !existsSync(`${REPO_ROOT}${path}`))).toEqual([]);
  });

  test("the dashboard ConfigMap ships the dashboard the TypeScript builder makes, with Grafana's sidecar label", async () => {
    const configMap = find(renders.get("monitoring")!, "ConfigMap", "rds-rds-csi-dashboard");
    expect(configMap.metadata.labels?.grafana_dashboard).toBe("1");
    const committed = readFileSync(`${CHART_DIR}/dashboards/rds-csi.json`, "utf8");
    expect({ file: "charts/rds-csi/dashboards/rds-csi.json (run: pnpm --filter @rds-csi/deploy generate)", same: committed === (await generatedFiles())["charts/rds-csi/dashboards/rds-csi.json"] }).toEqual({
      file: "charts/rds-csi/dashboards/rds-csi.json (run: pnpm --filter @rds-csi/deploy generate)",
      same: true,
    });
    expect(JSON.parse((configMap.data as Record<string, string>)["rds-csi.json"]!)).toEqual(JSON.parse(committed));
  });
});
