import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PassThrough } from "node:stream";
import { createLogger, csi } from "@rds-csi/core";
import { microTime, volumeAttachmentName } from "@rds-csi/core/k8s";
import { NO_HOST_NQN } from "@rds-csi/core/routeros";
import type { RdsSimulator } from "@rds-csi/rds-simulator";
import {
  AttachDetachControllerStandIn,
  callUnary,
  ExternalAttacherStandIn,
  fakeKubeClient,
  freePort,
  kubeletPaths as kubeletPathsUnder,
  makeNodeHost,
  rdsEnv,
  scrapeMetrics,
  startNodeProcess,
  startServiceProcess,
  SystemRig,
  type FakeApiServer,
  type NodeHost,
  type ServiceProcess,
} from "@rds-csi/testkit";

// Test support: every part of a failover as a real process or server — testkit's SystemRig (the RDS
// simulator, a fake API server, the controller and node plugins on fake NVMe/TCP fabrics over loop
// devices: root only) and the reconciler — with testkit's stand-ins for the attach/detach controller and
// external-attacher, and kubelet's part (Lease renewal, Ready, NodeStage/NodePublish) played here.

const DRIVER = "rds.csi.srvlab.io";
const reconcilerLauncher = fileURLToPath(new URL("../../../bin/rds-csi-attachment-reconciler", import.meta.url));
const MODE = csi.VolumeCapability_AccessMode_Mode;

/** A Node object whose kubelet the rig plays: Lease renewed and Ready while `alive`. */
export interface ClusterMember {
  readonly name: string;
  /** while true the rig renews its Lease and reports it Ready (the kubelet is alive) */
  alive: boolean;
  /** when (Date.now()) the rig last renewed its Lease */
  renewedAt?: number;
}

/** A node: its host (identity, kubelet directory, fabric, plugin process) and the kubelet role the rig plays for it. */
export type RigNode = ClusterMember & NodeHost;

/** Two nodes with plugins, and a volume attached to the first, staged, published, with a file written and synced. */
export interface VolumeInUse {
  readonly a: RigNode;
  readonly b: RigNode;
  readonly volume: { volumeId: string; nqn: string; context: Record<string, string> };
  readonly first: { vaName: string; publishContext: Record<string, string> };
  readonly targetA: string;
}

export interface FailoverRig {
  readonly dir: string;
  readonly api: FakeApiServer;
  readonly sim: RdsSimulator;
  readonly controller: ServiceProcess;
  /** every Node whose kubelet the rig plays */
  readonly members: Map<string, ClusterMember>;
  /**
   * The most hosts that could reach an export at once since its allow-list first named one, by NQN
   * (sampled every 5 ms): hosts connected and hosts named in its allow-list; an allow-list admitting
   * any host (empty) counts as Infinity.
   */
  readonly maxWithAccess: Map<string, number>;
  /** a node with a plugin on its own fake fabric (root only) */
  addNode(name: string): Promise<RigNode>;
  /** a Node with a kubelet and nothing else; `hostNqn` goes in its host NQN annotation (a node plugin writes it otherwise) */
  addMember(name: string, hostNqn?: string): ClusterMember;
  startPlugin(node: RigNode): Promise<ServiceProcess>;
  startReconciler(name: string, env?: Readonly<Record<string, string>>): Promise<{ process: ServiceProcess; metricsPort: number }>;
  /** CreateVolume + the PV, as external-provisioner makes them */
  createVolume(name: string): Promise<{ volumeId: string; nqn: string; context: Record<string, string> }>;
  /**
   * The scheduler places a pod using the volume's claim on `node`; the attach/detach controller and
   * external-attacher stand-ins attach it (VolumeAttachment, ControllerPublish, status.attached).
   * Resolves once attached, with the publish context kubelet would stage with.
   */
  schedule(volumeId: string, node: string): Promise<{ vaName: string; publishContext: Record<string, string> }>;
  /** node-a and node-b with plugins; `volumeName` created, attached to node-a, staged and published there with data.txt holding `text` */
  volumeInUse(volumeName: string, text: string): Promise<VolumeInUse>;
  /** kubelet's NodeUnpublish + NodeUnstage, once the pod is gone */
  unstage(node: RigNode, volumeId: string): Promise<void>;
  /** kubelet's NodeStage + NodePublish; returns the pod's target path */
  stageAndPublish(node: RigNode, volumeId: string, publishContext: Record<string, string>, context: Record<string, string>): Promise<string>;
  cleanup(): Promise<void>;
}

const capability = (): csi.VolumeCapability => csi.VolumeCapability.fromPartial({ mount: { fsType: "ext4" }, accessMode: { mode: MODE.SINGLE_NODE_WRITER } });

export function kubeletPaths(node: RigNode, volumeId: string): { staging: string; target: string } {
  return kubeletPathsUnder(node.kubeletDir, volumeId, `pod-${node.name}`);
}

/** The VolumeAttachment name kube-controller-manager gives. */
export function attachmentName(volumeId: string, node: string): string {
  return volumeAttachmentName(volumeId, DRIVER, node);
}


export interface FailoverRigOptions {
  /** how often the kubelet role renews Leases (default 200 ms; kubelet's own period is 10 s) */
  readonly heartbeatMs?: number;
  /** how long after a kubelet stops its Node turns Ready=Unknown (default at once; kube-controller-manager's node-monitor-grace-period is 40 s) */
  readonly notReadyAfterMs?: number;
}

export async function startFailoverRig(options: FailoverRigOptions = {}): Promise<FailoverRig> {
  const system = await SystemRig.start({
    simulator: { poolSize: "100G", allowHost: "enforce-and-drop" },
    controllerEnv: { HOST_ACCESS_CONTROL_TRUST: "verified" },
  });
  const { dir, sim, api } = system;
  const cleanups: (() => Promise<unknown>)[] = [() => system.stop()];
  const maxWithAccess = new Map<string, number>();
  const sampler = setInterval(() => {
    for (const entry of sim.exports()) {
      // Tracked from the export's first publish: CreateVolume exports a disk with an empty allow-list.
      if (entry.allowedHosts.length === 0 && !maxWithAccess.has(entry.nqn)) continue;
      const named = entry.allowedHosts.filter((host) => host !== NO_HOST_NQN);
      const withAccess = entry.allowedHosts.length === 0 ? Number.POSITIVE_INFINITY : new Set([...named, ...entry.connections]).size;
      maxWithAccess.set(entry.nqn, Math.max(maxWithAccess.get(entry.nqn) ?? 0, withAccess));
    }
  }, 5);
  cleanups.push(async () => clearInterval(sampler));
  const controller = await system.startController();
  // kube-controller-manager's attach/detach controller and the external-attacher sidecar, as stand-ins
  const quiet = createLogger({ level: "error", component: "stand-ins", stream: new PassThrough() });
  const attacherClient = fakeKubeClient(api.url, "csi-attacher");
  const kcmClient = fakeKubeClient(api.url, "kube-controller-manager");
  const attacher = new ExternalAttacherStandIn({ client: attacherClient, csiEndpoint: `unix://${join(dir, "controller.sock")}`, driverName: DRIVER, logger: quiet, relistIntervalMs: 1_000 });
  const adc = new AttachDetachControllerStandIn({ client: kcmClient, driverName: DRIVER, logger: quiet, relistIntervalMs: 1_000 });
  attacher.start();
  adc.start();
  cleanups.push(async () => {
    await Promise.all([attacher.stop(), adc.stop()]);
    attacherClient.connection.close();
    kcmClient.connection.close();
  });
  const members = new Map<string, ClusterMember>();

  // kubelet's heartbeat: the Lease renewed and the Node Ready while the node is alive; once it is not,
  // the Lease stays as it was and the node lifecycle controller marks the Node Ready=Unknown.
  const renew = () => {
    const now = Date.now();
    for (const node of members.values()) {
      if (!node.alive || !api.get("Node", undefined, node.name)) continue;
      api.put("Lease", { metadata: { name: node.name, namespace: "kube-node-lease" }, spec: { holderIdentity: node.name, renewTime: microTime(new Date(now)), leaseDurationSeconds: 40 } });
      node.renewedAt = now;
    }
  };
  const conditions = () => {
    const now = Date.now();
    for (const node of members.values()) {
      const stored = api.get("Node", undefined, node.name) as { status?: { conditions?: { type: string; status: string }[] } } | undefined;
      if (!stored) continue;
      const ready = node.alive || now - (node.renewedAt ?? now) < (options.notReadyAfterMs ?? 0) ? "True" : "Unknown";
      if (stored.status?.conditions?.[0]?.status !== ready) api.put("Node", { ...stored, status: { ...stored.status, conditions: [{ type: "Ready", status: ready }] } });
    }
  };
  const heartbeat = setInterval(renew, options.heartbeatMs ?? 200);
  const monitor = setInterval(conditions, 200);
  cleanups.push(async () => clearInterval(monitor));
  cleanups.push(async () => clearInterval(heartbeat));

  const rig: FailoverRig = {
    dir,
    api,
    sim,
    controller,
    members,
    maxWithAccess,
    addMember(name, hostNqn) {
      const member: ClusterMember = { name, alive: true };
      const annotations = hostNqn ? { "rds.csi.srvlab.io/host-nqn": hostNqn } : {};
      api.put("Node", { metadata: { name, annotations }, spec: {}, status: { conditions: [{ type: "Ready", status: "True" }] } });
      api.put("CSINode", { metadata: { name }, spec: { drivers: [{ name: DRIVER, nodeID: name }] } });
      api.put("Lease", { metadata: { name, namespace: "kube-node-lease" }, spec: { holderIdentity: name, renewTime: microTime(new Date()), leaseDurationSeconds: 40 } });
      member.renewedAt = Date.now();
      members.set(name, member);
      return member;
    },
    async addNode(name) {
      const host = await makeNodeHost(dir, name, sim.controlUrl);
      system.nodes.set(name, host);
      const node: RigNode = Object.assign(host, rig.addMember(name));
      members.set(name, node);
      return node;
    },
    async startPlugin(node) {
      const plugin = await startNodeProcess(node, { NAMESPACE_TIMEOUT: "10s", KUBECONFIG: system.kubeconfig });
      node.plugin = plugin;
      await until(() => api.get("Node", undefined, node.name)?.metadata?.annotations?.["rds.csi.srvlab.io/host-nqn"] !== undefined, "the node plugin did not publish its host NQN");
      return plugin;
    },
    async startReconciler(name, env = {}) {
      const metricsPort = await freePort();
      // through its launcher, with the V8 heap limits it runs with in images
      const process = await startServiceProcess(reconcilerLauncher, `unix://${join(dir, `reconciler-${name}.sock`)}`, ["--metrics-address", `127.0.0.1:${metricsPort}`], {
        ...rdsEnv(sim, system.keyFile),
        KUBECONFIG: system.kubeconfig,
        HOST_ACCESS_CONTROL_TRUST: "verified",
        POD_NAME: name,
        POD_NAMESPACE: "kube-system",
        FAILURE_GRACE: "3s",
        RECONCILE_INTERVAL: "200ms",
        STABILIZATION: "2s",
        FINALIZER_TIMEOUT: "5s",
        HOST_ACCESS_LIVE_CONNECTIONS: "dropped",
        LEADER_LEASE_DURATION: "3s",
        LEADER_RENEW_DEADLINE: "2s",
        LEADER_RETRY_PERIOD: "500ms",
        ...env,
      });
      cleanups.push(async () => process.stop("SIGKILL"));
      return { process, metricsPort };
    },
    async createVolume(name) {
      const rpc = controller.clients.controller;
      const { volume } = await callUnary(rpc, rpc.createVolume, csi.CreateVolumeRequest.fromPartial({ name, capacityRange: { requiredBytes: 1n << 30n }, volumeCapabilities: [capability()] }));
      if (!volume) throw new Error("CreateVolume returned no volume");
      // the PV external-provisioner makes, bound to a claim named like the volume
      api.put("PersistentVolume", {
        metadata: { name: volume.volumeId },
        spec: {
          accessModes: ["ReadWriteOnce"],
          capacity: { storage: "1Gi" },
          csi: { driver: DRIVER, volumeHandle: volume.volumeId, fsType: "ext4", volumeAttributes: volume.volumeContext },
          claimRef: { namespace: "default", name: volume.volumeId },
        },
      });
      api.put("PersistentVolumeClaim", { metadata: { name: volume.volumeId, namespace: "default" }, spec: { accessModes: ["ReadWriteOnce"], volumeName: volume.volumeId } });
      const nqn = sim.exports().find((entry) => entry.slot === volume.volumeId)?.nqn ?? "";
      return { volumeId: volume.volumeId, nqn, context: volume.volumeContext };
    },
    async schedule(volumeId, node) {
      api.put("Pod", {
        metadata: { name: `app-${node}`, namespace: "default", uid: randomUUID() },
        spec: { nodeName: node, volumes: [{ name: "data", persistentVolumeClaim: { claimName: volumeId } }] },
        status: { phase: "Running" },
      });
      const vaName = attachmentName(volumeId, node);
      const attached = () => api.get("VolumeAttachment", undefined, vaName) as { status?: { attached?: boolean; attachmentMetadata?: Record<string, string> } } | undefined;
      await until(() => attached()?.status?.attached === true, `the volume was not attached to ${node}`, 60_000);
      return { vaName, publishContext: attached()?.status?.attachmentMetadata ?? {} };
    },
    async volumeInUse(volumeName, text) {
      const a = await rig.addNode("node-a");
      const b = await rig.addNode("node-b");
      await rig.startPlugin(a);
      await rig.startPlugin(b);
      const volume = await rig.createVolume(volumeName);
      const first = await rig.schedule(volume.volumeId, a.name);
      const targetA = await rig.stageAndPublish(a, volume.volumeId, first.publishContext, volume.context);
      await writeFile(join(targetA, "data.txt"), text);
      execFileSync("sync", ["-f", targetA]);
      return { a, b, volume, first, targetA };
    },
    async unstage(node, volumeId) {
      if (!node.plugin) throw new Error(`node ${node.name} has no plugin running`);
      const { staging, target } = kubeletPaths(node, volumeId);
      const rpc = node.plugin.clients.node;
      await callUnary(rpc, rpc.nodeUnpublishVolume, csi.NodeUnpublishVolumeRequest.fromPartial({ volumeId, targetPath: target }), { deadlineMs: 60_000 });
      await callUnary(rpc, rpc.nodeUnstageVolume, csi.NodeUnstageVolumeRequest.fromPartial({ volumeId, stagingTargetPath: staging }), { deadlineMs: 60_000 });
    },
    async stageAndPublish(node, volumeId, publishContext, context) {
      if (!node.plugin) throw new Error(`node ${node.name} has no plugin running`);
      const { staging, target } = kubeletPaths(node, volumeId);
      await mkdir(staging, { recursive: true });
      const rpc = node.plugin.clients.node;
      const call = { volumeId, publishContext, volumeContext: context, volumeCapability: capability(), stagingTargetPath: staging };
      await callUnary(rpc, rpc.nodeStageVolume, csi.NodeStageVolumeRequest.fromPartial(call), { deadlineMs: 60_000 });
      await callUnary(rpc, rpc.nodePublishVolume, csi.NodePublishVolumeRequest.fromPartial({ ...call, targetPath: target }), { deadlineMs: 60_000 });
      return target;
    },
    async cleanup() {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    },
  };
  return rig;
}

/**
 * What broke the safety of moving a single-writer volume to the host `hostNqn` (none: it held): the
 * export is connected from that host alone, and no two hosts could ever reach it at once, so the old
 * host was off the allow-list and disconnected before the new one was admitted. Who took the old
 * host's access away is not part of it: the reconciler's storage fence, or the controller's
 * ControllerUnpublish once the attach/detach controller, acting on the out-of-service taint, deleted
 * the VolumeAttachment (KEP-2268 non-graceful node shutdown), possibly before the fence record says
 * "done". Shared by the failover scenario and the failover benchmark.
 */
export function unsafeMove(rig: FailoverRig, nqn: string, hostNqn: string | undefined): string[] {
  const problems: string[] = [];
  const connected = rig.sim.connections(nqn);
  if (connected.length !== 1 || connected[0] !== hostNqn) problems.push(`${nqn} is connected from [${connected.join(", ")}], not from ${hostNqn} alone`);
  const most = rig.maxWithAccess.get(nqn);
  if (most !== 1) problems.push(`${most === Number.POSITIVE_INFINITY ? "any host" : `${most ?? 0} hosts`} could reach ${nqn} at once`);
  return problems;
}

/** The reconciler's metric value for one sample line (e.g. `rds_csi_reconciler_leader`), or undefined. */
export async function metricValue(metricsPort: number, sample: string): Promise<number | undefined> {
  const text = await scrapeMetrics(metricsPort);
  const line = text.split("\n").find((each) => each.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

export async function until(condition: () => boolean | Promise<boolean>, failure: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
