import { processMemory, type BenchReport, type Figure } from "@rds-csi/testkit";
import type { ClusterNode } from "../src/cluster-objects.js";
import { fenceRecordOf, storageFenced } from "../src/fence-record.js";
import { attachmentName, metricValue, startFailoverRig, unsafeMove, until } from "./support/failover-rig.js";

const NODES = 500;
const ATTACHMENTS = 5_000;
const RSS_TARGET_MB = 100;
const GRACE_S = 60;
const FAILOVER_SLACK_S = 10;

/**
 * The reconciler as a process. Memory: 500 Nodes (Leases renewed every 10 s, as kubelet does) and
 * 5,000 VolumeAttachments with their PVs in the fake API server, RSS read from its /metrics once it
 * has listed everything and reconciled every node for 15 s (target < 100 MB). Failover (root only: node plugins
 * on fake fabrics): the real 60 s grace period and 5 s resync interval, the Node turning NotReady 40 s
 * after its kubelet stops (kube-controller-manager's node-monitor-grace-period); from the moment node A
 * dies to the volume staged on node B with A's data (target ≤ grace + 10 s). The run fails unless the
 * move was safe (node A's host off the export before node B's was admitted: the rig's `unsafeMove`, as
 * in the failover scenario) and node A ended fenced on the storage side.
 */
export async function run(): Promise<BenchReport> {
  const lines: string[] = [];
  const figures: Figure[] = [];
  const rss = await memoryWithLargeCluster();
  lines.push(`reconciler RSS with ${NODES} nodes and ${ATTACHMENTS} VolumeAttachments: ${rss.toFixed(1)} MB (target < ${RSS_TARGET_MB} MB)`);
  figures.push({ id: "reconciler.rss_500_nodes_5000_vas", label: `reconciler RSS, ${NODES} nodes + ${ATTACHMENTS} VAs`, unit: "MB", rounds: [rss], target: { bound: RSS_TARGET_MB, strict: true, description: `< ${RSS_TARGET_MB} MB` } });
  if (process.getuid?.() === 0) {
    const seconds = await failoverSeconds();
    lines.push(`failover with the ${GRACE_S} s grace period: node death → volume staged on another node in ${seconds.toFixed(1)} s (target ≤ ${GRACE_S + FAILOVER_SLACK_S} s)`);
    figures.push({ id: "reconciler.failover_60s_grace", label: "failover, node death → staged elsewhere", unit: "s", rounds: [seconds], target: { bound: GRACE_S + FAILOVER_SLACK_S, description: `≤ ${GRACE_S + FAILOVER_SLACK_S} s` } });
  } else {
    lines.push("failover: skipped (needs root for loop devices and mounts)");
  }
  return { lines, figures };
}

async function memoryWithLargeCluster(): Promise<number> {
  const rig = await startFailoverRig({ heartbeatMs: 10_000 });
  try {
    for (let i = 0; i < NODES; i++) rig.addMember(`node-${String(i).padStart(3, "0")}`);
    for (let i = 0; i < ATTACHMENTS; i++) {
      const volumeId = `pvc-00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
      const node = `node-${String(i % NODES).padStart(3, "0")}`;
      rig.api.put("PersistentVolume", { metadata: { name: volumeId }, spec: { accessModes: ["ReadWriteOnce"], capacity: { storage: "1Gi" }, csi: { driver: "rds.csi.srvlab.io", volumeHandle: volumeId, fsType: "ext4" } } });
      rig.api.put("VolumeAttachment", {
        metadata: { name: attachmentName(volumeId, node), finalizers: ["external-attacher/rds-csi-srvlab-io"] },
        spec: { attacher: "rds.csi.srvlab.io", nodeName: node, source: { persistentVolumeName: volumeId } },
        status: { attached: true },
      });
    }
    const reconciler = await rig.startReconciler("bench", { RECONCILE_INTERVAL: "5s", ORPHAN_AUDIT_INTERVAL: "10m" });
    await until(async () => (await metricValue(reconciler.metricsPort, 'rds_csi_reconciler_nodes{state="healthy"}')) === NODES, "the reconciler never saw every node healthy", 120_000);
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    return (await processMemory(reconciler.metricsPort)).residentMb;
  } finally {
    await rig.cleanup();
  }
}

async function failoverSeconds(): Promise<number> {
  const rig = await startFailoverRig({ heartbeatMs: 10_000, notReadyAfterMs: 40_000 });
  try {
    const { a, b, volume, first } = await rig.volumeInUse("pvc-6f1d2c3b-4a5e-4f60-8a7b-000000000bench", "before the failure\n");
    rig.addMember("node-c");
    const reconciler = await rig.startReconciler("bench", { FAILURE_GRACE: `${GRACE_S}s`, RECONCILE_INTERVAL: "5s" });
    await until(async () => (await metricValue(reconciler.metricsPort, 'rds_csi_reconciler_nodes{state="healthy"}')) === 3, "the reconciler never saw the nodes healthy", 60_000);
    const diedAt = Date.now();
    await a.plugin?.stop("SIGKILL");
    a.alive = false;
    // Freed by the reconciler or, on the out-of-service taint, by the attach/detach controller (maybe
    // before the fence record says "done"): either is right, so only its detaching is waited for.
    await until(() => rig.api.get("VolumeAttachment", undefined, first.vaName) === undefined, "the VolumeAttachment was never detached", 240_000);
    const second = await rig.schedule(volume.volumeId, b.name);
    await rig.stageAndPublish(b, volume.volumeId, second.publishContext, volume.context);
    const seconds = (Date.now() - diedAt) / 1000;
    const problems = unsafeMove(rig, volume.nqn, rig.api.get("Node", undefined, b.name)?.metadata?.annotations?.["rds.csi.srvlab.io/host-nqn"]);
    if (problems.length > 0) throw new Error(`the volume moved unsafely: ${problems.join("; ")}`);
    await until(() => fenceRecordOf(rig.api.get("Node", undefined, a.name) as ClusterNode)?.phase === "done", "the fence of the dead node was never done", 30_000);
    if (!storageFenced(fenceRecordOf(rig.api.get("Node", undefined, a.name) as ClusterNode))) throw new Error("the dead node was not fenced on the storage side with its connections cut");
    return seconds;
  } finally {
    await rig.cleanup();
  }
}
