import { OrphanAudit } from "./orphan-audit.js";
import { WriteGuard } from "./write-guard.js";
import { FakeClock, MemoryCluster, MemoryRds, recordingLogger, testMetrics } from "../test/support/memory-cluster.js";

function rig(options: { diskDeletion: "off" | "dry-run" | "enabled"; dryRun?: boolean }) {
  const cluster = new MemoryCluster();
  cluster.addNode("n1");
  const rds = new MemoryRds();
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  const { registry, metrics } = testMetrics();
  const guard = new WriteGuard({ dryRun: options.dryRun ?? false, isLeader: () => true, logger });
  // pvc-ok: disk and PV; pvc-disk-only: a disk nobody claims; pvc-pv-only: a PV whose disk is gone;
  // the VolumeAttachment of pvc-gone: its PV was deleted.
  cluster.attach("pvc-ok", "n1");
  cluster.attach("pvc-pv-only", "n1");
  rds.allowed.set("pvc-ok", []);
  rds.allowed.set("pvc-disk-only", []);
  // A delete cut short after `/disk remove`: the file stayed.
  rds.orphanFiles.push("/raid10/csi/pvc-half-deleted.img");
  const orphanVa = cluster.attach("pvc-gone", "n1");
  cluster.forgetPersistentVolume("pvc-gone");
  const audit = new OrphanAudit({
    rds: rds.asRdsClient(),
    persistentVolumes: () => ["pvc-ok", "pvc-pv-only"].map((name) => cluster.persistentVolume(name)!),
    attachments: () => cluster.attachments(),
    diskDeletion: options.diskDeletion,
    minAgeMs: 3_600_000,
    guard,
    events: cluster,
    metrics,
    logger,
    now: clock.now,
  });
  return { cluster, rds, clock, audit, registry, lines, orphanVa };
}

describe("OrphanAudit", () => {
  it("finds each kind of orphan, counts them in the metric, names them in one log table and posts one event per new orphan", async () => {
    const r = rig({ diskDeletion: "off" });
    const orphans = await r.audit.run(new AbortController().signal);
    expect(orphans.map(({ kind, name }) => `${kind} ${name}`).sort()).toEqual([
      "disk_without_pv pvc-disk-only",
      "file_without_disk /raid10/csi/pvc-half-deleted.img",
      "pv_without_disk pvc-pv-only",
      `va_without_pv ${r.orphanVa}`,
    ]);
    const text = await r.registry.metrics();
    for (const kind of ["disk_without_pv", "pv_without_disk", "va_without_pv", "file_without_disk"]) expect(text).toContain(`rds_csi_reconciler_orphans{kind="${kind}"} 1`);
    expect(r.lines().filter((line) => line.message === "orphan audit")).toHaveLength(1);
    await r.audit.run(new AbortController().signal);
    expect(r.cluster.events.map((event) => `${event.reason} ${event.subject.kind}`).sort()).toEqual(["Orphaned PersistentVolume", "Orphaned VolumeAttachment"]);
  });

  it("deletes a disk without a PV only when enabled and once it has been seen orphaned for the minimum age", async () => {
    const off = rig({ diskDeletion: "off" });
    await off.audit.run(new AbortController().signal);
    off.clock.advance(7_200_000);
    await off.audit.run(new AbortController().signal);
    expect(off.rds.deleted).toEqual([]);

    const on = rig({ diskDeletion: "enabled" });
    await on.audit.run(new AbortController().signal);
    on.clock.advance(3_599_999);
    await on.audit.run(new AbortController().signal);
    expect(on.rds.deleted).toEqual([]);
    on.clock.advance(1);
    await on.audit.run(new AbortController().signal);
    expect(on.rds.deleted).toEqual(["pvc-disk-only"]);
  });

  it.each([
    ["deletion set to dry-run", { diskDeletion: "dry-run" as const }],
    ["the reconciler in dry-run", { diskDeletion: "enabled" as const, dryRun: true }],
  ])("with %s only says which aged disk it would delete", async (_case, options) => {
    const r = rig(options);
    await r.audit.run(new AbortController().signal);
    r.clock.advance(3_600_000);
    await r.audit.run(new AbortController().signal);
    expect(r.rds.deleted).toEqual([]);
    expect(r.lines().filter((line) => line.message.startsWith("dry run: would delete orphaned disk pvc-disk-only"))).toHaveLength(1);
  });
});
