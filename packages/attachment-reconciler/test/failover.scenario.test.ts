import { retryWhenLoaded, faultScenario, hasLosetup } from "@rds-csi/testkit";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fenceRecordOf } from "../src/fence-record.js";
import type { ClusterNode } from "../src/cluster-objects.js";
import { metricValue, startFailoverRig, unsafeMove, until, type FailoverRig } from "./support/failover-rig.js";

// Real processes (or real loop devices and mounts) on a 2-core CI machine that is running other suites too.
retryWhenLoaded(import.meta);

// Real processes end to end (fake API server, RDS simulator, controller, two node plugins on fake
// NVMe/TCP fabrics, the reconciler), with timings compressed: a 3 s grace period instead of 60 s.
const asRoot = process.getuid?.() === 0 && hasLosetup();
const describeAsRoot = asRoot ? describe : describe.skip;

describeAsRoot("failover of an RWO volume when its node dies (real processes)", () => {
  let rig: FailoverRig;

  afterEach(async () => {
    await rig?.cleanup();
  }, 60_000);

  it("fences the dead node (storage first, then taint), frees its VolumeAttachment, the volume moves with its data — never two hosts with access at once; the node comes back, does not reconnect the moved volume, and is unfenced", () =>
    // Counted in the resilience suite's ledger (.ci/run prints the sum).
    faultScenario("node-failure-with-fencing", async (inject) => {
    rig = await startFailoverRig();
    const { a, b, volume, first } = await rig.volumeInUse("pvc-6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b", "written on node-a before it died\n");
    const hostA = rig.api.get("Node", undefined, a.name)?.metadata?.annotations?.["rds.csi.srvlab.io/host-nqn"];
    expect(rig.sim.connections(volume.nqn)).toEqual([hostA]);

    const reconciler = await rig.startReconciler("r1");
    await until(async () => (await metricValue(reconciler.metricsPort, 'rds_csi_reconciler_nodes{state="healthy"}')) === 2, "the reconciler never saw both nodes healthy");

    // node-a dies: its plugin is killed, its kubelet stops renewing the Lease; its NVMe/TCP connection stays up.
    const diedAt = Date.now();
    await a.plugin?.stop("SIGKILL");
    a.alive = false;
    inject();
    expect(rig.sim.connections(volume.nqn)).toEqual([hostA]);

    await until(() => fenceRecordOf(rig.api.get("Node", undefined, a.name) as ClusterNode)?.phase === "done", "node-a was never fenced", 20_000);
    const fencedAfter = Date.now() - diedAt;
    // the grace period runs from the last renewal seen, up to one heartbeat (200 ms) before the death
    expect(fencedAfter).toBeGreaterThanOrEqual(2_800);
    const record = fenceRecordOf(rig.api.get("Node", undefined, a.name) as ClusterNode);
    expect(record).toMatchObject({ strategies: { taint: "success", storage: "success" }, connectionsCut: true, taintAdded: true, revoked: [volume.volumeId] });
    expect((rig.api.get("Node", undefined, a.name) as ClusterNode).spec?.taints).toEqual([expect.objectContaining({ key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute" })]);
    // The RDS cut node-a's live connection when its host left the allow-list.
    expect(rig.sim.connections(volume.nqn)).toEqual([]);
    // Deleted: being deleted, or already gone when the stand-ins detached it before this look.
    await until(() => {
      const va = rig.api.get("VolumeAttachment", undefined, first.vaName);
      return va === undefined || va.metadata?.deletionTimestamp !== undefined;
    }, "the VolumeAttachment of node-a was not deleted");

    // The out-of-service taint has the attach/detach controller force-delete node-a's pod; external-attacher
    // unpublishes and drops its finalizer. The pod's replacement is scheduled to node-b.
    await until(() => rig.api.get("VolumeAttachment", undefined, first.vaName) === undefined, "the VolumeAttachment of node-a was not detached", 30_000);
    expect(rig.api.get("Pod", "default", `app-${a.name}`)).toBeUndefined();
    const second = await rig.schedule(volume.volumeId, b.name);
    const targetB = await rig.stageAndPublish(b, volume.volumeId, second.publishContext, volume.context);
    expect(await readFile(join(targetB, "data.txt"), "utf8")).toBe("written on node-a before it died\n");
    const hostB = rig.api.get("Node", undefined, b.name)?.metadata?.annotations?.["rds.csi.srvlab.io/host-nqn"];
    expect(unsafeMove(rig, volume.nqn, hostB)).toEqual([]);

    await until(async () => (await metricValue(reconciler.metricsPort, "rds_csi_reconciler_failover_seconds_count")) === 1, "no failover time observed");
    expect(await metricValue(reconciler.metricsPort, 'rds_csi_reconciler_fences_total{strategy="storage",result="success"}')).toBe(1);
    // Who deletes node-a's VolumeAttachment is a race the reconciler is right to lose: with the
    // out-of-service taint the attach/detach controller may delete it first (the normal path). Either
    // way it is freed once, and the reconciler says so when it was the one.
    const freed = await metricValue(reconciler.metricsPort, "rds_csi_reconciler_volume_attachments_freed_total");
    expect([0, 1]).toContain(freed);
    const reasons = rig.api.list("Event").map((event) => (event as { reason?: string }).reason);
    expect(reasons).toContain("NodeFenced");
    expect(reasons.filter((reason) => reason === "VolumeAttachmentFreed")).toHaveLength(freed ?? 0);

    // node-a comes back. While it was away its kernel gave up on the cut connection (ctrl_loss_tmo);
    // its plugin starts again and finds the volume staged with no controller left.
    await a.fabric.loseControllerForGood(volume.nqn);
    a.alive = true;
    const plugin = await rig.startPlugin(a);
    await until(() => plugin.output().stdout.includes("stale-mount watcher: refusing to reconnect"), "node-a's plugin did not refuse to reconnect the moved volume", 20_000);
    expect(plugin.output().stdout).toContain("is no longer attached to this node");
    expect(rig.sim.connections(volume.nqn)).toEqual([hostB]);
    expect(fenceRecordOf(rig.api.get("Node", undefined, a.name) as ClusterNode)?.phase).toBe("done");
    // kubelet on node-a tears down what its force-deleted pod left: unpublish, unstage.
    await rig.unstage(a, volume.volumeId);
    await until(() => fenceRecordOf(rig.api.get("Node", undefined, a.name) as ClusterNode) === undefined, "node-a was never unfenced", 20_000);
    expect((rig.api.get("Node", undefined, a.name) as ClusterNode).spec?.taints ?? []).toEqual([]);
    expect(rig.api.get("Node", undefined, a.name)?.metadata?.annotations?.["rds.csi.srvlab.io/cleaned-up"]).toBeDefined();
    // The event is posted right after the fence record is cleared.
    await until(() => rig.api.list("Event").some((event) => (event as { reason?: string }).reason === "NodeUnfenced"), "no NodeUnfenced event");
    // Unfencing gives node-a access back only to exports it still has an attached VolumeAttachment for:
    // none, since its volume moved, so the export admits exactly node-b.
    expect(rig.sim.disks().find((disk) => disk.slot === volume.volumeId)?.allowedHosts).toEqual([hostB]);
    expect(rig.api.list("Event").map((event) => (event as { reason?: string }).reason)).not.toContain("AccessRestored");
    expect(unsafeMove(rig, volume.nqn, hostB)).toEqual([]);
  }), 180_000);
});
