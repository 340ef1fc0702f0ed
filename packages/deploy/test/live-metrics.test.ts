// The dashboard's queries and the alerts' expressions against the running code: the RDS simulator,
// the controller, a node plugin and the reconciler run as their own processes (their main.js, as the
// images start them), a real Prometheus scrapes their /metrics on loopback, and every panel query and
// every metric an alert reads must come back with series. Metrics that only move on a fault (a
// stale-mount recovery, an attach conflict, a fence) have no sample until then: for those, listed
// below with the reason, the test asserts the running service exposes the metric (HELP/TYPE), so a
// misspelt or removed name still fails. The same run records each service's Kubernetes API calls on
// its own fake API server and checks them against the declared list the chart's RBAC is tested with.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { csi } from "@rds-csi/core";
import { generateEd25519KeyPair, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { callUnary, freePort, rdsEnv, startFakeApiServer, startServiceProcess, type FakeApiServer, type ServiceProcess } from "@rds-csi/testkit";
import { DASHBOARD_ROWS } from "../src/dashboard/panels.js";
import { SERVICE_API_ACCESS } from "../src/kube-api-access.js";
import { startPrometheus, type Prometheus } from "./support/prometheus.js";
import { CHART_DIR } from "./support/repo.js";
import { SERVICES, type Component } from "./support/services.js";

/** Metrics with no sample until a fault or an operation this run does not make, and why. */
const FAULT_ONLY: Readonly<Record<string, string>> = {
  rds_csi_controller_attach_conflicts_total: "a second node asking for an RWO volume",
  rds_csi_controller_migrations_overdue_total: "an RWX block migration outliving its window",
  rds_csi_node_stale_mounts_detected_total: "a staged device renumbered under its mounts",
  rds_csi_node_stale_mount_recoveries_total: "a stale-mount recovery",
  rds_csi_node_lost_controller_reconnects_total: "the kernel dropping an NVMe/TCP controller",
  rds_csi_node_format_operations_total: "mkfs on a real device (the stage here stops at connect)",
  rds_csi_reconciler_fences_total: "a node failure",
  rds_csi_reconciler_fence_duration_seconds: "a node failure",
  rds_csi_reconciler_failover_seconds: "a node failure",
  rds_csi_reconciler_volume_attachments_freed_total: "a node failure",
  rds_csi_reconciler_finalizers_removed_total: "a stuck VolumeAttachment",
};
/** kubelet's series, not ours: the volume condition alert reads what kubelet makes of NodeGetVolumeStats. */
const NOT_OURS = /^kubelet_/;

const GiB = 1024n ** 3n;
let dir: string;
let sim: RdsSimulator;
let prometheus: Prometheus;
const apis = new Map<Component, FakeApiServer>();
const services: ServiceProcess[] = [];

/** PromQL with the dashboard's variables filled in as Grafana would for "All" and a 1 s scrape. */
const concrete = (expr: string): string => expr.replaceAll("$namespace", ".*").replaceAll("$__rate_interval", "1m");
/** The metric families an expression reads (histogram series map to their family). */
const metricsIn = (expr: string): string[] => [...new Set([...expr.matchAll(/\b((?:rds_csi|kubelet)_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, "")))];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rds-csi-live-metrics-"));
  const key = generateEd25519KeyPair();
  await writeFile(join(dir, "id_ed25519"), key.private, { mode: 0o600 });
  sim = await startSimulator({ stateDir: join(dir, "rds"), authorizedKeys: key.public, poolName: "raid10", poolSize: "100G" });
  const kubeconfigs = {} as Record<Component, string>;
  for (const component of ["controller", "node", "reconciler"] as const) {
    const api = await startFakeApiServer();
    apis.set(component, api);
    // The host NQN the node plugin publishes; the controller reads it to allow the node on the export.
    api.put("Node", { apiVersion: "v1", kind: "Node", metadata: { name: "n1", annotations: { "rds.csi.srvlab.io/host-nqn": "nqn.2014-08.org.nvmexpress:uuid:6f1c9a7e-2b1d-4c5e-9a3f-0d2e4b6c8a10" } } });
    api.put("CSINode", { apiVersion: "storage.k8s.io/v1", kind: "CSINode", metadata: { name: "n1" }, spec: { drivers: [{ name: "rds.csi.srvlab.io", nodeID: "n1" }] } });
    api.put("PersistentVolumeClaim", { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "huge", namespace: "apps", uid: "uid-huge" }, spec: {} });
    kubeconfigs[component] = join(dir, `kubeconfig-${component}`);
    await writeFile(kubeconfigs[component], api.kubeConfig().exportConfig());
  }
  const ports = { controller: await freePort(), node: await freePort(), reconciler: await freePort() };
  const start = async (component: Component, env: NodeJS.ProcessEnv): Promise<ServiceProcess> => {
    const service = await startServiceProcess(SERVICES[component].main, `unix://${join(dir, component, "csi.sock")}`, ["--metrics-address", `127.0.0.1:${ports[component]}`], env);
    services.push(service);
    return service;
  };
  const rds = rdsEnv(sim, join(dir, "id_ed25519"));
  const controller = await start("controller", {
    ...rds,
    HOST_ACCESS_CONTROL_TRUST: "verified", // publish then reads the node's host NQN (nodes get)
    KUBECONFIG: kubeconfigs.controller,
  });
  for (const made of ["etc", "kubelet", "sys", "dev"]) await mkdir(join(dir, made), { recursive: true });
  const node = await start("node", {
    NODE_ID: "n1",
    KUBECONFIG: kubeconfigs.node,
    ETC_DIR: join(dir, "etc"),
    SYSFS_ROOT: join(dir, "sys"),
    DEV_ROOT: join(dir, "dev"),
    KUBELET_DIR: join(dir, "kubelet"),
    NVME_CLI: "false", // every nvme-cli call fails: the stage below stops at connect
  });
  apis.get("reconciler")!.addNamespace("rds-csi");
  await start("reconciler", { ...rds, KUBECONFIG: kubeconfigs.reconciler, POD_NAMESPACE: "rds-csi", POD_NAME: "reconciler-0", RECONCILE_INTERVAL: "1s" });
  prometheus = await startPrometheus(dir, [
    { port: ports.controller, labels: { namespace: "rds-csi", pod: "controller-0" } },
    { port: ports.node, labels: { namespace: "rds-csi", pod: "node-n1" } },
    { port: ports.reconciler, labels: { namespace: "rds-csi", pod: "reconciler-0" } },
  ]);

  // What a cluster does to the controller and the node plugin, through their sockets.
  const rpc = controller.clients.controller;
  const capability = csi.VolumeCapability.fromPartial({ mount: { fsType: "ext4" }, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });
  await until(async () => (await callUnary(controller.clients.identity, controller.clients.identity.probe, {})).ready === true);
  const { volume } = await callUnary(rpc, rpc.createVolume, csi.CreateVolumeRequest.fromPartial({ name: "pvc-live-metrics", capacityRange: { requiredBytes: GiB }, volumeCapabilities: [capability] }));
  await callUnary(rpc, rpc.controllerExpandVolume, csi.ControllerExpandVolumeRequest.fromPartial({ volumeId: volume!.volumeId, capacityRange: { requiredBytes: 2n * GiB }, volumeCapability: capability }));
  const tooBig = csi.CreateVolumeRequest.fromPartial({
    name: "pvc-too-big",
    capacityRange: { requiredBytes: 200n * GiB },
    volumeCapabilities: [capability],
    parameters: { "csi.storage.k8s.io/pvc/name": "huge", "csi.storage.k8s.io/pvc/namespace": "apps" },
  });
  await expect(callUnary(rpc, rpc.createVolume, tooBig)).rejects.toThrow("RESOURCE_EXHAUSTED");
  const { publishContext } = await callUnary(rpc, rpc.controllerPublishVolume, csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: volume!.volumeId, nodeId: "n1", volumeCapability: capability, volumeContext: volume!.volumeContext }));
  const nodeRpc = node.clients.node;
  await callUnary(nodeRpc, nodeRpc.nodeGetInfo, {});
  const stage = csi.NodeStageVolumeRequest.fromPartial({ volumeId: volume!.volumeId, publishContext, volumeContext: volume!.volumeContext, volumeCapability: capability, stagingTargetPath: join(dir, "kubelet", "plugins/kubernetes.io/csi/rds.csi.srvlab.io", volume!.volumeId, "globalmount") });
  await expect(callUnary(nodeRpc, nodeRpc.nodeStageVolume, stage)).rejects.toThrow();
  await callUnary(rpc, rpc.controllerUnpublishVolume, csi.ControllerUnpublishVolumeRequest.fromPartial({ volumeId: volume!.volumeId, nodeId: "n1" }));
  await callUnary(rpc, rpc.deleteVolume, csi.DeleteVolumeRequest.fromPartial({ volumeId: volume!.volumeId }));
  // Two scrapes after the last call, so rate() over the samples has two points of every series.
  await until(async () => (await prometheus.query(`count_over_time(rds_csi_grpc_requests_total{method="DeleteVolume"}[1m])`)).some((s) => s.metric.code === "OK"));
  await new Promise((resolve) => setTimeout(resolve, 2_500));
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  for (const service of services) await service.stop("SIGTERM");
  for (const api of apis.values()) await api.stop();
  await sim?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Every query of `exprs` comes back with series, or reads only fault-only metrics the services expose. */
async function expectLive(exprs: readonly string[]): Promise<void> {
  const exposed = await prometheus.exposedMetrics();
  const problems: string[] = [];
  for (const expr of exprs) {
    if ((await prometheus.query(expr)).length > 0) continue;
    const metrics = metricsIn(expr).filter((metric) => !NOT_OURS.test(metric));
    const missing = metrics.filter((metric) => !exposed.has(metric));
    if (missing.length > 0) problems.push(`${expr}: not exported by any service: ${missing.join(", ")}`);
    else if (metrics.length === 0 || !metrics.every((metric) => metric in FAULT_ONLY)) problems.push(`${expr}: no series`);
  }
  expect(problems).toEqual([]);
}

test.each(DASHBOARD_ROWS.map((row) => [row.title, row] as const))("every panel query of the %s row returns series from the running services", async (_title, row) => {
  await expectLive(row.panels.flatMap((panel) => panel.queries.map((query) => concrete(query.expr))));
});

test("every alert expression is valid PromQL and every metric it reads comes back from the running services", async () => {
  const rules = yaml.load(await readFile(`${CHART_DIR}/files/alerts.rules.yaml`, "utf8")) as { groups: { rules: { alert: string; expr: string }[] }[] };
  const alerts = rules.groups.flatMap((g) => g.rules);
  // The alerts' conditions need a fault; their selectors (each metric they read) must have series.
  for (const alert of alerts) await prometheus.query(alert.expr);
  await expectLive([...new Set(alerts.flatMap((alert) => metricsIn(alert.expr)))].filter((metric) => !NOT_OURS.test(metric)));
});

/** Declared calls this run cannot make: the reconciler writes only when a node fails; the node reads a VolumeAttachment only before reconnecting a lost controller. */
const NOT_EXERCISED_HERE: Readonly<Record<Component, readonly string[]>> = {
  controller: [],
  node: ["storage.k8s.io/volumeattachments get"],
  reconciler: ["/events create", "/nodes patch", "storage.k8s.io/volumeattachments delete", "storage.k8s.io/volumeattachments patch"],
};

test.each(["controller", "node", "reconciler"] as const)("the %s called exactly the Kubernetes API it declares (src/kube-api-access.ts)", (component) => {
  // A declared namespace must match the call's; "release" is the namespace the test runs the reconciler in.
  const key = (group: string, resource: string, verb: string) => `${group}/${resource} ${verb}`;
  const declared = SERVICE_API_ACCESS[component];
  const calls = apis.get(component)!.apiCalls();
  const undeclared = calls.filter(
    (call) =>
      !declared.some(
        (access) =>
          access.group === call.group &&
          access.resource === (call.subresource ? `${call.resource}/${call.subresource}` : call.resource) &&
          access.verbs.includes(call.verb) &&
          (access.namespace === undefined || (access.namespace === "release" ? "rds-csi" : access.namespace) === call.namespace),
      ),
  );
  const made = new Set(calls.map((call) => key(call.group, call.resource, call.verb)));
  const unexercised = declared.flatMap((access) => access.verbs.map((verb) => key(access.group, access.resource, verb))).filter((call) => !made.has(call));
  expect({ undeclared: undeclared.map((c) => `${key(c.group, c.resource, c.verb)} @${c.namespace ?? "-"}`), unexercised: unexercised.sort() }).toEqual({ undeclared: [], unexercised: [...NOT_EXERCISED_HERE[component]].sort() });
});

async function until(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error("condition not met within 20 s");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
