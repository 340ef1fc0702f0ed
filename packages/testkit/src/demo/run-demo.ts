import { execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { csi, GiB } from "@rds-csi/core";
import { KubeClient, loadKubeConnection, microTime } from "@rds-csi/core/k8s";
import { generateEd25519KeyPair } from "@rds-csi/rds-simulator";
import { callUnary } from "../csi-client.js";
import { callAsKubeletWould } from "../system/csi-retry.js";
import { hasLosetup } from "../system/has-losetup.js";
import { startServiceProcess } from "../service-process.js";
import { rdsEnv } from "../system/rds-env.js";
import { kubeletPaths, makeNodeHost, startControllerProcess, startNodeProcess, type NodeHost } from "../system/system-rig.js";
import type { ServiceProcess } from "../service-process.js";
import { removeLeftovers, writeLeftovers } from "./interrupt-cleanup.js";
import { gib, StepRunner, type StepChecks } from "./step-runner.js";
import { startSimulatorProcess, startUrlProcess, Supervisor } from "./supervisor.js";

const run = promisify(execFile);
const DRIVER = "rds.csi.srvlab.io";
const dist = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const Mode = csi.VolumeCapability_AccessMode_Mode;
// xfs: this sandbox drops CAP_SYS_RESOURCE even for root, which online ext4 growth (resize2fs on a
// mounted filesystem) needs; xfs_growfs does not.
/**
 * The reconciler's clocks, compressed so the failover fits in a demo: a node is failed 5 s after its
 * Lease was last seen renewed (60 s in production), with passes every second. Storage fencing is on: the
 * simulated RDS enforces allow-lists and drops live connections of a host taken off one
 * (`--allow-host enforce-and-drop`), which the self-check proves on a real RDS.
 */
/** Small on purpose: the simulator copies a snapshot by reading the whole backing file; the snapshot is taken before the expansion. */
const SIZE = GiB;
const EXPANDED = 2n * GiB;
/** external-snapshotter's and external-provisioner's default --timeout: copies take longer than other calls. */
const COPY_DEADLINE_MS = 60_000;

const RECONCILER_TIMINGS = {
  FAILURE_GRACE: "5s",
  RECONCILE_INTERVAL: "1s",
  STABILIZATION: "5s",
  FINALIZER_TIMEOUT: "15s",
  HOST_ACCESS_CONTROL_TRUST: "verified",
  HOST_ACCESS_LIVE_CONNECTIONS: "dropped",
  LEADER_LEASE_DURATION: "6s",
  LEADER_RENEW_DEADLINE: "4s",
  LEADER_RETRY_PERIOD: "1s",
};
const rwo = csi.VolumeCapability.fromPartial({ mount: { fsType: "xfs" }, accessMode: { mode: Mode.SINGLE_NODE_WRITER } });

export interface DemoOptions {
  /** Where the demo writes its lines (stdout). */
  readonly out?: NodeJS.WriteStream;
  /** Parent of the demo's temp directory (default: the OS temp dir). */
  readonly parentDir?: string;
}

/**
 * `pnpm demo`: the whole driver on one machine. The RDS simulator, a fake API server, the controller,
 * two node plugins and the reconciler run as real processes; the demo plays kubelet and the CSI
 * sidecars (retrying ABORTED/UNAVAILABLE as they do) and walks one volume through its life. Each step
 * prints one line with its duration and what was read back to check it. Returns the exit code: 0 only
 * if every check held. Whatever happens — a failed check, Ctrl-C, a signal to any of its processes —
 * the processes, mounts, loop devices and temp files are removed; a detached guardian does it if the
 * demo itself is killed.
 */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const stdout = options.out ?? process.stdout;
  const withNodes = process.getuid?.() === 0 && hasLosetup();
  const runner = new StepRunner({ write: (text) => stdout.write(text), interactive: stdout.isTTY === true }, withNodes ? 16 : 7);
  header(runner, withNodes);

  const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), "rds-csi-demo-"));
  runner.say(`working directory ${dir} (removed at the end, also on Ctrl-C)\n`);
  const leftovers = `${dir}.leftovers.json`;
  const supervisor = new Supervisor((pids) => writeLeftovers(leftovers, { dir, pids, done: false }));
  await writeLeftovers(leftovers, { dir, pids: [], done: false });
  spawn(process.execPath, [dist("./demo-guardian.js"), String(process.pid), leftovers], { detached: true, stdio: ["ignore", "ignore", "inherit"] }).unref();
  const onSignal = (signal: NodeJS.Signals): void => supervisor.interrupt(signal);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);

  const fabrics: NodeHost[] = [];
  let failed = false;
  try {
    const ctx = await startSystem(runner, supervisor, dir, withNodes, fabrics);
    await lifeOfAVolume(runner, supervisor, ctx);
  } catch (err) {
    failed = true;
    if (runner.failures.length === 0) runner.say(`demo stopped: ${err instanceof Error ? err.message : String(err)}`);
    if (supervisor.signal === undefined) {
      for (const process of supervisor.processes) {
        const output = process.output?.();
        const lines = `${output?.stdout ?? ""}\n${output?.stderr ?? ""}`.trim().split("\n").filter(Boolean).slice(-8);
        if (lines.length > 0) runner.say(`\nlast log lines of ${process.name}:\n  ${lines.join("\n  ")}`);
      }
    }
  } finally {
    const unclean = await supervisor.stopAll();
    for (const host of fabrics) await host.fabric.cleanup().catch((err: unknown) => unclean.push(`fabric of ${host.name}: ${String(err)}`));
    const summary = await removeLeftovers({ dir, pids: [], done: false });
    await writeLeftovers(leftovers, { dir, pids: [], done: true });
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(signal, onSignal);
    if (unclean.length > 0 && supervisor.signal === undefined) {
      failed = true;
      runner.say(`clean-up: ${unclean.join("; ")}`);
    }
    runner.say(`\nclean-up: every process stopped, ${summary.replace(/^0 processes killed, /, "")}`);
  }
  if (supervisor.signal !== undefined) {
    runner.say(`demo interrupted by ${supervisor.signal}; nothing left behind`);
    return 130;
  }
  runner.say(failed ? `\ndemo FAILED: ${runner.failures.join("; ") || "see above"}` : "\ndemo passed: every check held");
  return failed ? 1 : 0;
}

function header(runner: StepRunner, withNodes: boolean): void {
  runner.say("rds-csi demo — the whole driver on one machine");
  runner.say("  real: the services as processes (csi-controller, 2 × csi-node, attachment-reconciler), SSH with a pinned host key, gRPC over unix sockets, mkfs.ext4, mount, loop devices, the kernel's block I/O");
  runner.say("  simulated: the RDS (rds-sim: RouterOS CLI over SSH on sparse files), NVMe/TCP (a fake nvme-cli and sysfs put loop devices where namespaces would be), Kubernetes (a fake API server; the demo plays kubelet and the CSI sidecars), and every outage below is injected");
  if (!withNodes) runner.say("  node steps skipped: attaching, formatting and mounting need root and losetup (loop devices, mounts) — run as root for the full demo; this run covers the control plane");
}

interface DemoSystem {
  readonly dir: string;
  readonly simControlUrl: string;
  readonly controller: ServiceProcess;
  readonly kube: KubeClient;
  readonly nodes: readonly { host: NodeHost; plugin: ServiceProcess & { name: string } }[];
  /** Nodes whose kubelet the demo plays: their Lease is renewed while they are in here. */
  readonly alive: Set<string>;
}

/**
 * kubelet's heartbeat, played by the demo: each live node's Lease in kube-node-lease is renewed every
 * 500 ms (kubelet: every 10 s, with a 40 s lease). A node taken out of `alive` simply stops renewing.
 */
function startHeartbeat(kube: KubeClient, alive: Set<string>): void {
  const created = new Set<string>();
  const beat = async (): Promise<void> => {
    for (const node of alive) {
      const spec = { holderIdentity: node, leaseDurationSeconds: 40, renewTime: microTime(new Date()) };
      const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`;
      if (!created.has(node)) {
        await kube.create("create node Lease", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", { metadata: { name: node, namespace: "kube-node-lease" }, spec }, AbortSignal.timeout(5_000));
        created.add(node);
      } else {
        await kube.mergePatch("renew node Lease", path, { spec }, AbortSignal.timeout(5_000));
      }
    }
  };
  // Never holds the process open; a failed beat (the API server going away at the end) is skipped.
  setInterval(() => void beat().catch(() => undefined), 500).unref();
  void beat().catch(() => undefined);
}

async function startSystem(runner: StepRunner, supervisor: Supervisor, dir: string, withNodes: boolean, fabrics: NodeHost[]): Promise<DemoSystem> {
  return runner.step("start the RDS simulator, a fake API server, csi-controller, the attachment-reconciler" + (withNodes ? ", two node plugins" : ""), (check) =>
    guarded(supervisor, async () => {
      const key = generateEd25519KeyPair();
      await writeFile(join(dir, "authorized_keys"), key.public);
      const keyFile = join(dir, "id_ed25519");
      await writeFile(keyFile, key.private, { mode: 0o600 });
      const sim = await supervisor.add(
        await startSimulatorProcess(dist("../../../rds-simulator/dist/cli.js"), [
          "--state-dir", join(dir, "rds"), "--port", "0", "--authorized-key", join(dir, "authorized_keys"), "--pool-size", "1T",
          "--latency-mutate", "20ms", "--copy-from", "data", "--allow-host", "enforce-and-drop",
        ]),
      );
      const kubeconfig = join(dir, "kubeconfig");
      await supervisor.add(await startUrlProcess("fake-apiserver", dist("../fake-apiserver/cli.js"), ["--kubeconfig", kubeconfig], /listening on (\S+)/));
      const kube = new KubeClient(await loadKubeConnection({ kind: "file", path: kubeconfig }, "rds-csi-demo"));
      // The simulated RDS copies data on copy-from and enforces its allow-lists, which is what
      // `rds-csi-node selfcheck` proves on a real one (docs/selfcheck.md); the controller is told so.
      const controller = await startControllerProcess({ dir, rds: sim, keyFile, kubeconfig, env: { COPY_STRATEGY_TRUST: "verified", HOST_ACCESS_CONTROL_TRUST: "verified" } });
      await supervisor.add({ name: "csi-controller", ...controller });
      await until(async () => (await callUnary(controller.clients.identity, controller.clients.identity.probe, {})).ready === true, "the controller never reported ready");
      check.that(true, `rds-sim (ssh :${sim.port}, host key ${sim.hostKeyFingerprint.slice(0, 18)}…) and csi-controller answer Probe: ready`);
      // Namespaces the API server has from the start: the reconciler's leader Lease and the nodes' Leases live there.
      for (const namespace of ["kube-system", "kube-node-lease"]) {
        await kube.create("create Namespace", "/api/v1/namespaces", { metadata: { name: namespace } }, AbortSignal.timeout(10_000)).catch(() => undefined);
      }
      const reconciler = await startServiceProcess(dist("../../../attachment-reconciler/dist/main.js"), `unix://${join(dir, "reconciler.sock")}`, ["--metrics-address", "127.0.0.1:0"], {
        ...rdsEnv(sim, keyFile),
        KUBECONFIG: kubeconfig,
        POD_NAMESPACE: "kube-system",
        POD_NAME: "reconciler-0",
        LOG_LEVEL: "info",
        ...RECONCILER_TIMINGS,
      });
      await supervisor.add({ name: "attachment-reconciler", ...reconciler });
      await until(async () => (await callUnary(reconciler.clients.identity, reconciler.clients.identity.probe, {})).ready === true, "the reconciler never reported ready");
      check.that(true, "attachment-reconciler answers Probe: ready (its watches listed Nodes, Leases, VolumeAttachments, PVs)");
      const nodes: { host: NodeHost; plugin: ServiceProcess & { name: string } }[] = [];
      const alive = new Set<string>();
      if (withNodes) {
        for (const name of ["node-a", "node-b"]) {
          alive.add(name);
          // The Node object kubelet registers; the plugin records its NVMe host NQN on it at start.
          await kube.create("create Node", "/api/v1/nodes", { metadata: { name }, status: { conditions: [{ type: "Ready", status: "True" }] } }, AbortSignal.timeout(10_000));
          const host = await makeNodeHost(dir, name, sim.controlUrl);
          fabrics.push(host);
          const plugin = await supervisor.add({ name: `csi-node ${name}`, ...(await startNodeProcess(host, { KUBECONFIG: kubeconfig })) });
          await kube.create("create CSINode", "/apis/storage.k8s.io/v1/csinodes", { metadata: { name }, spec: { drivers: [{ name: DRIVER, nodeID: name }] } }, AbortSignal.timeout(10_000));
          nodes.push({ host, plugin });
        }
        await until(async () => {
          const list = await kube.list<{ metadata?: { annotations?: Record<string, string> } }>("list Nodes", "/api/v1/nodes", AbortSignal.timeout(10_000));
          return list.items.every((n) => n.metadata?.annotations?.["rds.csi.srvlab.io/host-nqn"] !== undefined);
        }, "the node plugins did not record their host NQNs on their Nodes");
        startHeartbeat(kube, alive);
        check.that(nodes.length === 2, "both node plugins serve on their sockets, each on its own NVMe/TCP fabric, and recorded their host NQNs on their Nodes");
      }
      return { dir, simControlUrl: sim.controlUrl, controller, kube, nodes, alive };
    }),
  );
}

interface SimDisk {
  readonly slot: string;
  readonly size: number;
  readonly backingFile: string;
  readonly nvmeTcpExport: boolean;
  readonly allowedHosts: readonly string[];
}

async function simDisks(system: DemoSystem): Promise<SimDisk[]> {
  const response = await fetch(`${system.simControlUrl}/disks`, { signal: AbortSignal.timeout(10_000) });
  return (await response.json()) as SimDisk[];
}

async function lifeOfAVolume(runner: StepRunner, supervisor: Supervisor, system: DemoSystem): Promise<void> {
  const rpc = system.controller.clients.controller;
  const retrying = <T>(call: () => Promise<T>): Promise<T> => callAsKubeletWould(call, { onRetry: (err) => runner.note(`retrying: ${err.details ?? err.code}`) });
  const step = <T>(title: string, work: (check: StepChecks) => Promise<T>): Promise<T> => runner.step(title, (check) => guarded(supervisor, () => work(check)));

  const request = csi.CreateVolumeRequest.fromPartial({ name: "pvc-5b0c1f2e-3d4c-4b5a-9687-a1b2c3d4e5f6", capacityRange: { requiredBytes: SIZE }, volumeCapabilities: [rwo] });
  const volume = await step(`CreateVolume ${gib(SIZE)} (external-provisioner)`, async (check) => {
    const { volume } = await retrying(() => callUnary(rpc, rpc.createVolume, request));
    const again = await retrying(() => callUnary(rpc, rpc.createVolume, request));
    const disk = (await simDisks(system)).find((d) => d.slot === volume!.volumeId);
    check.that(disk !== undefined && disk.nvmeTcpExport, `the RDS lists disk ${volume!.volumeId} exported over NVMe/TCP`);
    check.that(BigInt(disk!.size) === SIZE, `its size is ${gib(disk!.size)}`);
    check.that(again.volume!.volumeId === volume!.volumeId && (await simDisks(system)).length === 1, "a retried CreateVolume answered the same volume and made no second disk");
    // external-provisioner's next step: the PersistentVolume, named after the claim like the volume.
    await system.kube.create("create PersistentVolume", "/api/v1/persistentvolumes", persistentVolume(volume!), AbortSignal.timeout(10_000));
    return volume!;
  });
  const volumeId = volume.volumeId;

  if (system.nodes.length === 0) {
    await step("CreateSnapshot, then a new volume from it (external-snapshotter, -provisioner)", async (check) => {
      const clone = await snapshotAndRestore(retrying, system, volumeId, check);
      await retrying(() => callUnary(rpc, rpc.deleteVolume, { volumeId: clone.volumeId, secrets: {} }));
    });
    await step(`ControllerExpandVolume ${gib(SIZE)} → ${gib(EXPANDED)} (external-resizer)`, async (check) => {
      const expanded = await retrying(() => callUnary(rpc, rpc.controllerExpandVolume, { volumeId, capacityRange: { requiredBytes: EXPANDED, limitBytes: 0n }, volumeCapability: rwo, secrets: {} }));
      check.that(expanded.capacityBytes === EXPANDED, `the controller answered ${gib(expanded.capacityBytes)}`);
      const disk = (await simDisks(system)).find((d) => d.slot === volumeId);
      check.that(BigInt(disk?.size ?? 0) === EXPANDED, `the RDS disk is ${gib(disk?.size ?? 0)}`);
    });
    await publishTo(step, retrying, system, volume, "node-a");
    await unpublishFrom(step, retrying, system, volumeId, "node-a");
    await deleteVolume(step, retrying, system, volumeId);
    return;
  }
  // The node part: written in the next section.
  await nodeLife(runner, supervisor, step, retrying, system, volume);
}

/**
 * A snapshot of `volumeId` and a new volume restored from it; the snapshot is deleted once the restore
 * exists (the restored disk is a copy of its own on the RDS). Returns the restored volume.
 */
async function snapshotAndRestore(retrying: Retrying, system: DemoSystem, volumeId: string, check: StepChecks): Promise<csi.Volume> {
  const rpc = system.controller.clients.controller;
  const { snapshot } = await retrying(() => callUnary(rpc, rpc.createSnapshot, csi.CreateSnapshotRequest.fromPartial({ sourceVolumeId: volumeId, name: "snapshot-7c9e6679-7425-40de-944b-e07fc1f90ae7" }), { deadlineMs: COPY_DEADLINE_MS }));
  check.that(snapshot!.readyToUse && snapshot!.sourceVolumeId === volumeId, `snapshot ${snapshot!.snapshotId} of ${gib(snapshot!.sizeBytes)} is ready to use`);
  const { volume: clone } = await retrying(() =>
    callUnary(rpc, rpc.createVolume, csi.CreateVolumeRequest.fromPartial({ name: "pvc-0f8fad5b-d9cb-469f-a165-70867728950e", capacityRange: { requiredBytes: snapshot!.sizeBytes }, volumeCapabilities: [rwo], volumeContentSource: { snapshot: { snapshotId: snapshot!.snapshotId } } }), { deadlineMs: COPY_DEADLINE_MS }),
  );
  const disk = (await simDisks(system)).find((d) => d.slot === clone!.volumeId);
  check.that(disk !== undefined && BigInt(disk.size) === snapshot!.sizeBytes, `the RDS holds the restored volume ${clone!.volumeId} (${gib(disk?.size ?? 0)})`);
  await retrying(() => callUnary(rpc, rpc.deleteSnapshot, { snapshotId: snapshot!.snapshotId, secrets: {} }));
  return clone!;
}

type Step = <T>(title: string, work: (check: StepChecks) => Promise<T>) => Promise<T>;
type Retrying = <T>(call: () => Promise<T>) => Promise<T>;

/** The host NQN a node connects with, as the RDS's allow-lists name it (absent without node plugins). */
function hostNqnOf(system: DemoSystem, node: string): string | undefined {
  return system.nodes.find((n) => n.host.name === node)?.host.hostNqn;
}

/** What external-attacher puts on a VolumeAttachment it handles (`external-attacher/` + the driver name, non-alphanumerics as `-`). */
const ATTACHER_FINALIZER = `external-attacher/${DRIVER.replace(/[^a-zA-Z0-9-]/g, "-")}`;
const vaPath = (name: string): string => `/apis/storage.k8s.io/v1/volumeattachments/${name}`;

/**
 * The attach path as Kubernetes runs it: the attach/detach controller creates the VolumeAttachment,
 * external-attacher calls ControllerPublishVolume, records `status.attached` and keeps its finalizer on
 * the object until ControllerUnpublishVolume succeeded. The demo plays both.
 */
async function publishTo(step: Step, retrying: Retrying, system: DemoSystem, volume: csi.Volume, node: string): Promise<Record<string, string>> {
  return step(`ControllerPublishVolume → ${node} (attach/detach controller + external-attacher)`, async (check) => {
    const rpc = system.controller.clients.controller;
    const name = attachmentName(volume.volumeId, node);
    await system.kube.create("create VolumeAttachment", "/apis/storage.k8s.io/v1/volumeattachments", attachment(volume.volumeId, node), AbortSignal.timeout(10_000));
    const { publishContext } = await retrying(() =>
      callUnary(rpc, rpc.controllerPublishVolume, csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: node, volumeCapability: rwo, volumeContext: volume.volumeContext })),
    );
    await system.kube.mergePatch("record attachment", `${vaPath(name)}/status`, { status: { attached: true, attachmentMetadata: publishContext } }, AbortSignal.timeout(10_000));
    check.that(publishContext.nvme_nqn?.endsWith(volume.volumeId) === true, `publish_context names the volume's NQN`);
    const hostNqn = hostNqnOf(system, node);
    if (hostNqn !== undefined) {
      const disk = (await simDisks(system)).find((d) => d.slot === volume.volumeId);
      check.that(disk?.allowedHosts.includes(hostNqn) === true, `the export's allow-list now admits ${node}'s host NQN — ${disk?.allowedHosts.length} host(s) in all`);
    }
    return publishContext;
  });
}

/** external-attacher's side of a detach, once the VolumeAttachment is being deleted: ControllerUnpublishVolume, then its finalizer goes. */
async function finishDetach(retrying: Retrying, system: DemoSystem, volumeId: string, node: string): Promise<void> {
  const rpc = system.controller.clients.controller;
  await retrying(() => callUnary(rpc, rpc.controllerUnpublishVolume, { volumeId, nodeId: node, secrets: {} }));
  await system.kube.jsonPatch(
    "remove the attacher's finalizer",
    vaPath(attachmentName(volumeId, node)),
    [
      { op: "test", path: "/metadata/finalizers/0", value: ATTACHER_FINALIZER },
      { op: "remove", path: "/metadata/finalizers/0" },
    ],
    AbortSignal.timeout(10_000),
  );
}

async function vaExists(system: DemoSystem, volumeId: string, node: string): Promise<{ deleting: boolean } | undefined> {
  try {
    const va = await system.kube.get<{ metadata?: { deletionTimestamp?: string } }>("read VolumeAttachment", vaPath(attachmentName(volumeId, node)), AbortSignal.timeout(10_000));
    return { deleting: va.metadata?.deletionTimestamp !== undefined };
  } catch (err) {
    if ((err as { cause?: { code?: number } }).cause?.code === 404 || /not ?found/i.test(String(err))) return undefined;
    throw err;
  }
}

async function unpublishFrom(step: Step, retrying: Retrying, system: DemoSystem, volumeId: string, node: string): Promise<void> {
  await step(`ControllerUnpublishVolume ← ${node} (the pod is gone: VolumeAttachment deleted, external-attacher detaches)`, async (check) => {
    await system.kube.delete("delete VolumeAttachment", vaPath(attachmentName(volumeId, node)), AbortSignal.timeout(10_000));
    await finishDetach(retrying, system, volumeId, node);
    check.that((await vaExists(system, volumeId, node)) === undefined, "the VolumeAttachment is gone once the finalizer came off");
    const disk = (await simDisks(system)).find((d) => d.slot === volumeId);
    const hostNqn = hostNqnOf(system, node);
    check.that(disk !== undefined && (hostNqn === undefined || !disk.allowedHosts.includes(hostNqn)), hostNqn === undefined ? "the volume is still on the RDS" : `${node}'s host NQN is off the export's allow-list`);
  });
}

async function deleteVolume(step: Step, retrying: Retrying, system: DemoSystem, volumeId: string): Promise<void> {
  await step("DeleteVolume (external-provisioner)", async (check) => {
    const rpc = system.controller.clients.controller;
    const backing = (await simDisks(system)).find((d) => d.slot === volumeId)?.backingFile;
    await retrying(() => callUnary(rpc, rpc.deleteVolume, { volumeId, secrets: {} }));
    await system.kube.delete("delete PersistentVolume", `/api/v1/persistentvolumes/${volumeId}`, AbortSignal.timeout(10_000));
    check.that(!(await simDisks(system)).some((d) => d.slot === volumeId), "the RDS no longer lists the disk");
    check.that(backing !== undefined && !existsSync(backing), "its backing file is gone from the pool");
  });
}

function persistentVolume(volume: csi.Volume): object {
  return {
    metadata: { name: volume.volumeId },
    spec: {
      capacity: { storage: `${volume.capacityBytes}` },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      csi: { driver: DRIVER, volumeHandle: volume.volumeId, fsType: "xfs", volumeAttributes: volume.volumeContext },
    },
  };
}

function attachmentName(volumeId: string, node: string): string {
  return `csi-${createHash("sha256").update(`${volumeId}${DRIVER}${node}`).digest("hex")}`;
}

function attachment(volumeId: string, node: string): object {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "VolumeAttachment",
    metadata: { name: attachmentName(volumeId, node), finalizers: [ATTACHER_FINALIZER] },
    // external-provisioner names a PV after its claim, and the driver's volume id is that name.
    spec: { attacher: DRIVER, nodeName: node, source: { persistentVolumeName: volumeId } },
  };
}

async function nodeLife(runner: StepRunner, supervisor: Supervisor, step: Step, retrying: Retrying, system: DemoSystem, volume: csi.Volume): Promise<void> {
  const [a, b] = system.nodes as [DemoSystem["nodes"][number], DemoSystem["nodes"][number]];
  const volumeId = volume.volumeId;
  const rpc = system.controller.clients.controller;
  const pathsA = kubeletPaths(a.host.kubeletDir, volumeId, "pod-a");
  const pathsB = kubeletPaths(b.host.kubeletDir, volumeId, "pod-b");
  const node = (plugin: ServiceProcess) => plugin.clients.node;
  const nodeCall = (publishContext: Record<string, string>, staging: string) => ({ volumeId, publishContext, volumeContext: volume.volumeContext, volumeCapability: rwo, stagingTargetPath: staging, secrets: {} });

  const contextA = await publishTo(step, retrying, system, volume, "node-a");
  await step("NodeStageVolume on node-a (kubelet): NVMe/TCP connect, mkfs.xfs, mount", async (check) => {
    await mkdir(join(pathsA.staging, ".."), { recursive: true });
    await retrying(() => callUnary(node(a.plugin), node(a.plugin).nodeStageVolume, csi.NodeStageVolumeRequest.fromPartial(nodeCall(contextA, pathsA.staging))));
    const ns = await a.host.fabric.namespace(contextA.nvme_nqn!);
    check.that(ns !== undefined && ns.state === "live", `node-a holds a live NVMe/TCP controller for the volume (${ns?.disk})`);
    const mount = mountAt(pathsA.staging);
    check.that(mount?.fsType === "xfs", `blkid found no filesystem, so it was formatted: the staging path is mounted xfs from ${mount?.source}`);
  });
  await step("NodePublishVolume on node-a: bind mount into the pod", async (check) => {
    await retrying(() => callUnary(node(a.plugin), node(a.plugin).nodePublishVolume, csi.NodePublishVolumeRequest.fromPartial({ ...nodeCall(contextA, pathsA.staging), targetPath: pathsA.target })));
    check.that(mountAt(pathsA.target)?.majorMinor === mountAt(pathsA.staging)?.majorMinor, "the pod's target shows the staged filesystem");
  });
  const data = randomBytes(4 * 1024 * 1024);
  const digest = createHash("sha256").update(data).digest("hex");
  await step("the pod writes 4 MiB", async (check) => {
    await writeFile(join(pathsA.target, "data.bin"), data);
    await run("sync", ["-f", pathsA.target]);
    const read = await readFile(join(pathsA.target, "data.bin"));
    check.that(createHash("sha256").update(read).digest("hex") === digest, `read back, sha256 ${digest.slice(0, 12)}…`);
  });
  await step("CreateSnapshot, then a new volume from it; node-b reads the copy (external-snapshotter, -provisioner)", async (check) => {
    await run("sync", ["-f", pathsA.target]);
    const clone = await snapshotAndRestore(retrying, system, volumeId, check);
    const contextClone = await retrying(() =>
      callUnary(rpc, rpc.controllerPublishVolume, csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: clone.volumeId, nodeId: "node-b", volumeCapability: rwo, volumeContext: clone.volumeContext })),
    ).then((answer) => answer.publishContext);
    const pathsClone = kubeletPaths(b.host.kubeletDir, clone.volumeId, "pod-clone");
    const cloneCall = { volumeId: clone.volumeId, publishContext: contextClone, volumeContext: clone.volumeContext, volumeCapability: rwo, stagingTargetPath: pathsClone.staging, secrets: {} };
    await mkdir(join(pathsClone.staging, ".."), { recursive: true });
    await retrying(() => callUnary(node(b.plugin), node(b.plugin).nodeStageVolume, csi.NodeStageVolumeRequest.fromPartial(cloneCall)));
    const read = await readFile(join(pathsClone.staging, "data.bin"));
    check.that(createHash("sha256").update(read).digest("hex") === digest, "node-b reads the 4 MiB file in the restored volume, same sha256");
    await retrying(() => callUnary(node(b.plugin), node(b.plugin).nodeUnstageVolume, { volumeId: clone.volumeId, stagingTargetPath: pathsClone.staging }));
    await retrying(() => callUnary(rpc, rpc.controllerUnpublishVolume, { volumeId: clone.volumeId, nodeId: "node-b", secrets: {} }));
    await retrying(() => callUnary(rpc, rpc.deleteVolume, { volumeId: clone.volumeId, secrets: {} }));
    check.that(!(await simDisks(system)).some((d) => d.slot === clone.volumeId), "restored volume and snapshot deleted again");
  });
  await step(`expand ${gib(SIZE)} → ${gib(EXPANDED)}: ControllerExpandVolume, then NodeExpandVolume on node-a`, async (check) => {
    const expanded = await retrying(() => callUnary(rpc, rpc.controllerExpandVolume, { volumeId, capacityRange: { requiredBytes: EXPANDED, limitBytes: 0n }, volumeCapability: rwo, secrets: {} }));
    check.that(expanded.capacityBytes === EXPANDED && expanded.nodeExpansionRequired, `the controller grew the disk to ${gib(expanded.capacityBytes)} and asked for node expansion`);
    await retrying(() => callUnary(node(a.plugin), node(a.plugin).nodeExpandVolume, csi.NodeExpandVolumeRequest.fromPartial({ volumeId, volumePath: pathsA.target, stagingTargetPath: pathsA.staging, capacityRange: { requiredBytes: EXPANDED }, volumeCapability: rwo })));
    const size = await dfSize(pathsA.target);
    check.that(size > Number(EXPANDED) * 0.95, `df on the pod's path shows ${gib(size)} (xfs keeps a little for its log)`);
  });
  await step("NVMe/TCP outage past ctrl_loss_tmo on node-a (injected); the node recovers by itself", async (check) => {
    const before = mountAt(pathsA.staging)?.majorMinor;
    await a.host.fabric.loseControllerForGood(contextA.nvme_nqn!);
    runner.note("the kernel gave up on the controller; waiting for the plugin's stale-mount watcher");
    await until(async () => {
      const now = mountAt(pathsA.staging)?.majorMinor;
      const target = mountAt(pathsA.target)?.majorMinor;
      return now !== undefined && now !== before && target === now;
    }, "the volume was not recovered within 60 s", 60_000);
    check.that(true, `staging moved from device ${before} to ${mountAt(pathsA.staging)?.majorMinor}, the pod's target re-bound`);
    const read = await readFile(join(pathsA.target, "data.bin"));
    check.that(createHash("sha256").update(read).digest("hex") === digest, "the file reads back unchanged");
  });
  const hostA = hostNqnOf(system, "node-a")!;
  const connections = async (): Promise<readonly string[]> => {
    const response = await fetch(`${system.simControlUrl}/exports`, { signal: AbortSignal.timeout(10_000) });
    return ((await response.json()) as { nqn: string; connections: string[] }[]).find((e) => e.nqn === contextA.nvme_nqn)?.connections ?? [];
  };
  const died = await step("node-a dies (injected): its plugin is killed, its kubelet stops renewing the node Lease, the Node goes Ready=Unknown", async (check) => {
    supervisor.expectEnd(a.plugin);
    await a.plugin.stop("SIGKILL");
    system.alive.delete("node-a");
    const diedAt = Date.now();
    // What the node lifecycle controller does once the kubelet stopped posting status (40 s by default).
    await system.kube.mergePatch("mark node-a not ready", "/api/v1/nodes/node-a/status", { status: { conditions: [{ type: "Ready", status: "Unknown", reason: "NodeStatusUnknown" }] } }, AbortSignal.timeout(10_000));
    check.that((await connections()).includes(hostA), "node-a's NVMe/TCP connection to the export is still up: a dead node's kernel keeps it");
    // Both simulated nodes share this machine's kernel: node-a's mounts are detached now so its page
    // cache cannot flush into the disk node-b is about to mount (on real nodes, another machine's).
    await run("umount", ["--lazy", pathsA.target]);
    await run("umount", ["--lazy", pathsA.staging]);
    return diedAt;
  });
  await step(`the attachment-reconciler sees node-a failed after the grace period (${RECONCILER_TIMINGS.FAILURE_GRACE}) and fences it`, async (check) => {
    let record: { phase?: string; strategies?: Record<string, string>; connectionsCut?: boolean } | undefined;
    await until(async () => {
      const nodeA = await system.kube.get<{ metadata?: { annotations?: Record<string, string> } }>("read Node", "/api/v1/nodes/node-a", AbortSignal.timeout(10_000));
      const raw = nodeA.metadata?.annotations?.["rds.csi.srvlab.io/fence"];
      record = raw === undefined ? undefined : (JSON.parse(raw) as typeof record);
      return record?.phase === "done";
    }, "node-a was not fenced within 60 s", 60_000);
    const after = (Date.now() - died) / 1000;
    check.that(after >= 4.5, `fenced ${after.toFixed(1)} s after it died (not before the grace period)`);
    check.that(record?.strategies?.storage === "success" && record.connectionsCut === true, "storage fence: node-a's host NQN revoked on the RDS, its live connection cut");
    const disk = (await simDisks(system)).find((d) => d.slot === volumeId);
    check.that(disk !== undefined && !disk.allowedHosts.includes(hostA), "read back: the export's allow-list no longer has node-a");
    check.that(!(await connections()).includes(hostA), "read back: the RDS lists no connection from node-a");
    const nodeA = await system.kube.get<{ metadata?: object; spec?: { taints?: { key: string; effect: string }[] } }>("read Node", "/api/v1/nodes/node-a", AbortSignal.timeout(10_000));
    check.that(record?.strategies?.taint === "success" && nodeA.spec?.taints?.some((t) => t.key === "node.kubernetes.io/out-of-service" && t.effect === "NoExecute") === true, "node-a carries the out-of-service taint");
  });
  await step("node-a's VolumeAttachment is freed (the reconciler deletes it; external-attacher detaches)", async (check) => {
    await until(async () => (await vaExists(system, volumeId, "node-a"))?.deleting !== false, "node-a's VolumeAttachment was not deleted within 30 s");
    check.that(true, "the reconciler deleted node-a's VolumeAttachment");
    if ((await vaExists(system, volumeId, "node-a")) !== undefined) await finishDetach(retrying, system, volumeId, "node-a");
    check.that((await vaExists(system, volumeId, "node-a")) === undefined, "ControllerUnpublishVolume done, finalizer off, the VolumeAttachment gone");
  });
  const contextB = await publishTo(step, retrying, system, volume, "node-b");
  await step("node-b stages and publishes the volume; the data is there", async (check) => {
    await mkdir(join(pathsB.staging, ".."), { recursive: true });
    await retrying(() => callUnary(node(b.plugin), node(b.plugin).nodeStageVolume, csi.NodeStageVolumeRequest.fromPartial(nodeCall(contextB, pathsB.staging))));
    await retrying(() => callUnary(node(b.plugin), node(b.plugin).nodePublishVolume, csi.NodePublishVolumeRequest.fromPartial({ ...nodeCall(contextB, pathsB.staging), targetPath: pathsB.target })));
    const read = await readFile(join(pathsB.target, "data.bin"));
    check.that(createHash("sha256").update(read).digest("hex") === digest, `node-b reads the 4 MiB file written on node-a before it died, sha256 ${digest.slice(0, 12)}…`);
    check.that(JSON.stringify(await connections()) === JSON.stringify([hostNqnOf(system, "node-b")]), "the RDS lists node-b's connection only");
    check.that((await dfSize(pathsB.target)) > Number(EXPANDED) * 0.95, `and sees the expanded ${gib(EXPANDED)} filesystem (no second format)`);
    await retrying(() => callUnary(node(b.plugin), node(b.plugin).nodeUnpublishVolume, { volumeId, targetPath: pathsB.target }));
    await retrying(() => callUnary(node(b.plugin), node(b.plugin).nodeUnstageVolume, { volumeId, stagingTargetPath: pathsB.staging }));
  });
  await unpublishFrom(step, retrying, system, volumeId, "node-b");
  await deleteVolume(step, retrying, system, volumeId);
}

/** Runs `work` until it ends or the supervisor reports trouble (a process died, the demo was interrupted). */
function guarded<T>(supervisor: Supervisor, work: () => Promise<T>): Promise<T> {
  return Promise.race([work(), supervisor.trouble]);
}

interface MountEntry {
  readonly majorMinor: string;
  readonly fsType: string;
  readonly source: string;
}

/** The top mount at `path` from this process's mountinfo (fields 3, 5, and the ones after " - "). */
function mountAt(path: string): MountEntry | undefined {
  const lines = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((line) => line.split(" ")[4] === path);
  const line = lines.at(-1);
  if (line === undefined) return undefined;
  const fields = line.split(" ");
  const after = line.split(" - ")[1]?.split(" ") ?? [];
  return { majorMinor: fields[2]!, fsType: after[0] ?? "", source: after[1] ?? "" };
}

async function dfSize(path: string): Promise<number> {
  const { stdout } = await run("df", ["--block-size=1", "--output=size", path]);
  return Number(stdout.trim().split("\n").at(-1));
}

async function until(condition: () => Promise<boolean>, failure: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
