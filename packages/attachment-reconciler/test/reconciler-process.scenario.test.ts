import type { ClusterNode } from "../src/cluster-objects.js";
import { fenceRecordOf } from "../src/fence-record.js";
import { NO_HOST_NQN } from "@rds-csi/core/routeros";
import { metricValue, startFailoverRig, until, type FailoverRig } from "./support/failover-rig.js";
import { retryWhenLoaded } from "@rds-csi/testkit";

// Real processes (or real loop devices and mounts) on a 2-core CI machine that is running other suites too.
retryWhenLoaded(import.meta);

// The reconciler as a process against the fake API server and the RDS simulator (no node plugins, so
// no root needed): safety brakes, API server outages, the orphan audit. Grace period 3 s.
describe("the reconciler process", () => {
  let rig: FailoverRig;

  afterEach(async () => {
    await rig?.cleanup();
  }, 60_000);

  const fenceOf = (name: string) => fenceRecordOf(rig.api.get("Node", undefined, name) as ClusterNode);

  it("fences nobody when most nodes go NotReady at once, and raises the mass-failure alert metric", async () => {
    rig = await startFailoverRig();
    const members = ["n1", "n2", "n3", "n4"].map((name) => rig.addMember(name));
    const reconciler = await rig.startReconciler("r1");
    await until(async () => (await metricValue(reconciler.metricsPort, 'rds_csi_reconciler_nodes{state="healthy"}')) === 4, "the reconciler never saw four healthy nodes");
    for (const member of members.slice(1)) member.alive = false;
    await until(async () => (await metricValue(reconciler.metricsPort, 'rds_csi_reconciler_fencing_paused{reason="mass_failure"}')) === 1, "no mass-failure alert", 15_000);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    for (const member of members) {
      expect(fenceOf(member.name)).toBeUndefined();
      expect((rig.api.get("Node", undefined, member.name) as ClusterNode).spec?.taints ?? []).toEqual([]);
    }
    expect(reconciler.process.output().stdout).toContain('"message":"fencing paused by a safety brake"');
    // One node back: one of four not Ready is below the share, so the still-failed ones are fenced.
    members[1]!.alive = true;
    members[2]!.alive = true;
    await until(() => fenceOf("n4")?.phase === "done", "n4 was not fenced once the brake let go", 15_000);
    expect(await metricValue(reconciler.metricsPort, 'rds_csi_reconciler_fencing_paused{reason="mass_failure"}')).toBe(0);
  }, 60_000);

  it("two replicas: one leads; killed in the middle of a fence, the other finishes it without fencing twice", async () => {
    rig = await startFailoverRig();
    const members = ["n1", "n2", "n3"].map((name) => rig.addMember(name, `nqn.2014-08.org.nvmexpress:uuid:0000000${name.slice(1)}-0000-4000-8000-000000000000`));
    const volume = await rig.createVolume("pvc-00000000-0000-4000-8000-00000000000a");
    await rig.schedule(volume.volumeId, "n1");
    const first = await rig.startReconciler("r1");
    await until(async () => (await metricValue(first.metricsPort, "rds_csi_reconciler_leader")) === 1, "r1 never led");
    const second = await rig.startReconciler("r2");
    await until(async () => (await metricValue(second.metricsPort, 'rds_csi_reconciler_nodes{state="healthy"}')) !== undefined, "r2 never served metrics");
    expect(await metricValue(second.metricsPort, "rds_csi_reconciler_leader")).toBe(0);

    // Every RouterOS change now takes 4 s, so the storage step of the fence is still running when r1 dies.
    await rig.sim.updateSettings({ latency: { mutateMs: 4_000 } });
    members[0]!.alive = false;
    await until(() => fenceOf("n1")?.phase === "started", "r1 never started the fence", 15_000);
    const started = fenceOf("n1");
    await first.process.stop("SIGKILL");
    await rig.sim.updateSettings({ latency: { mutateMs: 0 } });

    await until(() => fenceOf("n1")?.phase === "done", "r2 never finished the fence", 30_000);
    expect(await metricValue(second.metricsPort, "rds_csi_reconciler_leader")).toBe(1);
    expect(fenceOf("n1")).toMatchObject({ startedAt: started?.startedAt, detectedAt: started?.detectedAt, strategies: { storage: "success", taint: "success" } });
    expect((rig.api.get("Node", undefined, "n1") as ClusterNode).spec?.taints).toHaveLength(1);
    expect(rig.api.list("Event").filter((event) => (event as { reason?: string }).reason === "NodeFenced")).toHaveLength(1);
    expect(rig.sim.disks().find((disk) => disk.slot === volume.volumeId)?.allowedHosts).toEqual([NO_HOST_NQN]);
  }, 90_000);

  it("two replicas: the leader gives the Lease back on SIGTERM, so the other leads at once", async () => {
    rig = await startFailoverRig();
    rig.addMember("n1");
    const first = await rig.startReconciler("r1", { LEADER_LEASE_DURATION: "15s", LEADER_RENEW_DEADLINE: "10s", LEADER_RETRY_PERIOD: "300ms" });
    await until(async () => (await metricValue(first.metricsPort, "rds_csi_reconciler_leader")) === 1, "r1 never led");
    const second = await rig.startReconciler("r2", { LEADER_LEASE_DURATION: "15s", LEADER_RENEW_DEADLINE: "10s", LEADER_RETRY_PERIOD: "300ms" });
    await until(async () => (await metricValue(second.metricsPort, "rds_csi_reconciler_leader")) === 0, "r2 never served metrics");
    const stoppedAt = Date.now();
    expect(await first.process.stop("SIGTERM")).toBe(0);
    await until(async () => (await metricValue(second.metricsPort, "rds_csi_reconciler_leader")) === 1, "r2 did not take over", 15_000);
    // well before the 15 s lease would have expired
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
  }, 60_000);

  it("misses no failed node across an API server outage with its watch history gone", async () => {
    rig = await startFailoverRig();
    const members = ["n1", "n2", "n3"].map((name) => rig.addMember(name));
    const reconciler = await rig.startReconciler("r1");
    await until(async () => (await metricValue(reconciler.metricsPort, 'rds_csi_reconciler_nodes{state="healthy"}')) === 3, "the reconciler never saw three healthy nodes");
    // The API server goes away (every watch ends, requests fail) and comes back with a fresh watch cache
    // (a resumed watch gets 410 Gone); n3 dies meanwhile, so its NotReady is in no watch the reconciler had.
    rig.api.failNext({ status: 503, count: 8 });
    rig.api.closeWatches();
    members[2]!.alive = false;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    rig.api.compactHistory();
    await until(() => fenceOf("n3")?.phase === "done", "n3 was never fenced", 30_000);
    expect(fenceOf("n1")).toBeUndefined();
    expect(fenceOf("n2")).toBeUndefined();
  }, 60_000);

  it("finds each kind of orphan, and deletes an orphaned disk only when enabled and once it is old enough", async () => {
    rig = await startFailoverRig();
    rig.addMember("n1");
    const kept = await rig.createVolume("pvc-00000000-0000-4000-8000-000000000001");
    const orphanDisk = await rig.createVolume("pvc-00000000-0000-4000-8000-000000000002");
    rig.api.remove("PersistentVolume", undefined, orphanDisk.volumeId);
    rig.api.put("PersistentVolume", { metadata: { name: "pv-lost" }, spec: { accessModes: ["ReadWriteOnce"], csi: { driver: "rds.csi.srvlab.io", volumeHandle: "pvc-00000000-0000-4000-8000-000000000003" } } });
    // A VolumeAttachment whose PV is gone, stuck in deletion behind another controller's finalizer (one
    // that is not, the attach/detach controller stand-in deletes at once: no pod wants it).
    rig.api.put("VolumeAttachment", {
      metadata: { name: "csi-orphan", finalizers: ["example.com/keep"], deletionTimestamp: new Date().toISOString() },
      spec: { attacher: "rds.csi.srvlab.io", nodeName: "n1", source: { persistentVolumeName: "pv-gone" } },
    });
    const disks = () => rig.sim.disks().map((disk) => disk.slot);
    const audit = { ORPHAN_AUDIT_INTERVAL: "300ms", ORPHAN_MIN_AGE: "3s" };

    // The default is dry-run: the aged disk is only reported.
    const dryRun = await rig.startReconciler("r1", audit);
    for (const kind of ["disk_without_pv", "pv_without_disk", "va_without_pv"]) {
      await until(async () => (await metricValue(dryRun.metricsPort, `rds_csi_reconciler_orphans{kind="${kind}"}`)) === 1, `no ${kind} orphan reported`);
    }
    await until(() => dryRun.process.output().stdout.includes(`dry run: would delete orphaned disk ${orphanDisk.volumeId}`), "no dry-run deletion logged", 10_000);
    expect(disks()).toEqual(expect.arrayContaining([kept.volumeId, orphanDisk.volumeId]));
    const reasons = rig.api.list("Event").map((event) => `${(event as { reason?: string }).reason} ${(event as { involvedObject?: { kind?: string } }).involvedObject?.kind}`);
    expect(reasons).toEqual(expect.arrayContaining(["Orphaned PersistentVolume", "Orphaned VolumeAttachment"]));
    await dryRun.process.stop("SIGTERM");

    const startedAt = Date.now();
    const enabled = await rig.startReconciler("r2", { ...audit, ORPHAN_DISK_DELETION: "enabled" });
    await until(() => !disks().includes(orphanDisk.volumeId), "the aged orphaned disk was not deleted", 15_000);
    // this process saw the orphan first when it started, so it waited the minimum age itself
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(3_000);
    expect(disks()).toContain(kept.volumeId);
    await until(() => enabled.process.output().stdout.includes('"message":"orphaned disk deleted"'), "the deletion was not logged");
  }, 60_000);
});
