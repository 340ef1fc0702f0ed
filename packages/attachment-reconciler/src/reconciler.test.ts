import { CLEANED_UP_ANNOTATION, FENCE_ANNOTATION } from "@rds-csi/core/k8s";
import { fenceRecordOf } from "./fence-record.js";
import { MARK_FAILED_ANNOTATION } from "./failure-detector.js";
import { Reconciler, type ReconcilerOptions } from "./reconciler.js";
import { StorageFence, type LiveConnectionBehaviour } from "./storage-fence.js";
import { NotLeaderError, WriteGuard } from "./write-guard.js";
import { DRIVER, FakeClock, hostNqn, MemoryRds, MemoryCluster, recordingLogger, testMetrics } from "../test/support/memory-cluster.js";
import { NO_HOST_NQN } from "@rds-csi/core/routeros";
import { ConflictError } from "@rds-csi/core";

const GRACE = 60_000;

interface Rig {
  cluster: MemoryCluster;
  rds: MemoryRds;
  clock: FakeClock;
  reconciler: Reconciler;
  metricsText: () => Promise<string>;
  leader: { value: boolean };
  /** every node's turn; the errors of those that failed */
  resync: () => Promise<unknown[]>;
  logs: () => { level: string; message: string }[];
}

function rig(options: { nodes?: number; hostAccessControl?: boolean; live?: LiveConnectionBehaviour; dryRun?: boolean; overrides?: Partial<ReconcilerOptions> } = {}): Rig {
  const cluster = new MemoryCluster();
  for (let i = 0; i < (options.nodes ?? 4); i++) cluster.addNode(`n${i}`);
  const rds = new MemoryRds();
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  const { registry, metrics } = testMetrics();
  const leader = { value: true };
  const guard = new WriteGuard({ dryRun: options.dryRun ?? false, isLeader: () => leader.value, logger });
  const storage = new StorageFence({ rds: rds.asRdsClient(), hostAccessControl: options.hostAccessControl ?? true, liveConnections: options.live ?? "dropped", guard, logger });
  const reconciler = new Reconciler({
    driverName: DRIVER,
    view: cluster,
    writes: cluster,
    storage,
    strategies: { taint: true, storage: true },
    guard,
    events: cluster,
    metrics,
    logger,
    now: clock.now,
    graceMs: GRACE,
    brakes: { maxFences: 3, windowMs: 600_000, maxFailedShare: 0.5 },
    finalizerTimeoutMs: 120_000,
    stabilizationMs: 30_000,
    ...options.overrides,
  });
  // What a resync makes the work queue do, in one go: every node's turn. A turn that fails is only
  // retried by the queue, so its error is returned, not thrown.
  const resync = async () => {
    const failures: unknown[] = [];
    for (const name of reconciler.nodeNames()) await reconciler.reconcileNode(name, new AbortController().signal).catch((err: unknown) => failures.push(err));
    return failures;
  };
  return { cluster, rds, clock, reconciler, metricsText: () => registry.metrics(), leader, resync, logs: lines };
}

/** n1 stops: not Ready, Lease no longer renewed; every other node keeps renewing. */
async function failNode(r: Rig, name: string, forMs: number, stepMs = 5_000): Promise<void> {
  r.cluster.setReady(name, "Unknown");
  for (let spent = 0; spent < forMs; spent += stepMs) {
    r.clock.advance(stepMs);
    for (const node of r.cluster.nodes()) if (node.metadata?.name !== name) r.cluster.renew(node.metadata?.name ?? "");
    await r.resync();
  }
}

/** pvc-a attached to n1 (its export admitting n1 alone), then n1 fails for `failForMs`. Returns the VolumeAttachment's name. */
async function attachAndFail(r: Rig, failForMs: number, stepMs?: number): Promise<string> {
  const va = r.cluster.attach("pvc-a", "n1");
  r.rds.allowed.set("pvc-a", [hostNqn("n1")]);
  await r.resync();
  await failNode(r, "n1", failForMs, stepMs);
  return va;
}

describe("Reconciler: failure detection", () => {
  it("fences a node only after it is not Ready and its Lease went unrenewed for longer than the grace period", async () => {
    const r = rig();
    await r.resync();
    await failNode(r, "n1", GRACE);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toBeUndefined();
    expect(await r.metricsText()).toContain('rds_csi_reconciler_nodes{state="suspect"} 1');
    await failNode(r, "n1", 5_000);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toMatchObject({ phase: "done", strategies: { taint: "success", storage: "success" } });
    expect(await r.metricsText()).toContain('rds_csi_reconciler_nodes{state="fenced"} 1');
  });

  it("times the Lease by its own clock: a renewTime that keeps changing keeps a NotReady node unfenced, whatever its value", async () => {
    const r = rig();
    await r.resync();
    r.cluster.setReady("n1", "False");
    for (let i = 0; i < 30; i++) {
      r.clock.advance(5_000);
      r.cluster.renew("n1"); // the node's clock may be hours off; only the change counts
      await r.resync();
    }
    expect(r.cluster.writes).toEqual([]);
  });

  it("waits a full grace period after its own start before fencing a node that was already silent", async () => {
    const r = rig();
    r.cluster.setReady("n1", "Unknown");
    await r.resync();
    r.clock.advance(GRACE);
    await r.resync();
    expect(r.cluster.writes).toEqual([]);
    r.clock.advance(1);
    await r.resync();
    expect(r.cluster.writes).toContain("taint n1");
  });

  it("a standby that kept observing fences at once when it takes over; one that did not waits a full grace period", async () => {
    const standby = rig();
    const fresh = rig();
    for (const r of [standby, fresh]) r.cluster.setReady("n1", "Unknown");
    for (let spent = 0; spent <= GRACE + 5_000; spent += 5_000) {
      for (const r of [standby, fresh]) {
        r.clock.advance(5_000);
        for (const node of ["n0", "n2", "n3"]) r.cluster.renew(node);
      }
      for (const name of standby.reconciler.nodeNames()) standby.reconciler.observe(name);
    }
    await standby.resync();
    await fresh.resync();
    expect(standby.cluster.writes).toContain("taint n1");
    expect(fresh.cluster.writes).toEqual([]);
  });

  it("treats a node with the mark-failed annotation as failed at once", async () => {
    const r = rig();
    r.cluster.setReady("n1", "Unknown");
    r.cluster.annotate("n1", MARK_FAILED_ANNOTATION, "true");
    await r.resync();
    expect(fenceRecordOf(r.cluster.node("n1")!)?.phase).toBe("done");
  });

  it("fences a node an administrator tainted out of service at once, and leaves that taint to them", async () => {
    const r = rig();
    r.cluster.setReady("n1", "Unknown");
    await r.cluster.addNodeTaint(r.cluster.node("n1")!, { key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute" });
    r.cluster.writes.length = 0;
    await r.resync();
    expect(fenceRecordOf(r.cluster.node("n1")!)).toMatchObject({ phase: "done", taintAdded: false, strategies: { taint: "success" } });
    expect(r.cluster.writes).not.toContain("taint n1");
  });
});

describe("Reconciler: fencing", () => {
  it("revokes the node's host NQN from every export it holds before tainting, keeps the other holders, records the fence and posts an event", async () => {
    const r = rig();
    r.cluster.attach("pvc-a", "n1");
    r.cluster.attach("pvc-b", "n1");
    r.cluster.attach("pvc-b", "n2");
    r.rds.allowed.set("pvc-a", [hostNqn("n1")]);
    r.rds.allowed.set("pvc-b", [hostNqn("n1"), hostNqn("n2")]);
    r.rds.allowed.set("pvc-c", [hostNqn("n3")]);
    await r.resync();
    await failNode(r, "n1", GRACE + 5_000);
    expect(r.rds.allowed.get("pvc-a")).toEqual([NO_HOST_NQN]);
    expect(r.rds.allowed.get("pvc-b")).toEqual([hostNqn("n2")]);
    expect(r.rds.allowed.get("pvc-c")).toEqual([hostNqn("n3")]);
    const record = fenceRecordOf(r.cluster.node("n1")!)!;
    expect(record).toMatchObject({ phase: "done", connectionsCut: true, taintAdded: true, revoked: ["pvc-a", "pvc-b"] });
    // started → storage side recorded → taint → done: volumes may move (taint) only after the storage side
    expect(r.cluster.writes.slice(0, 4)).toEqual([`annotate n1 ${FENCE_ANNOTATION}`, `annotate n1 ${FENCE_ANNOTATION}`, "taint n1", `annotate n1 ${FENCE_ANNOTATION}`]);
    expect(r.cluster.events.map((event) => event.reason)).toContain("NodeFenced");
    const text = await r.metricsText();
    expect(text).toContain('rds_csi_reconciler_fences_total{strategy="storage",result="success"} 1');
    expect(text).toContain('rds_csi_reconciler_fences_total{strategy="taint",result="success"} 1');
    expect(text).toContain("rds_csi_reconciler_fence_duration_seconds_count 1");
  });

  it("two nodes sharing an RWX export, fenced at once by two workers, both end up off its allow-list", async () => {
    const r = rig({ nodes: 6 });
    r.cluster.attach("pvc-rwx", "n1");
    r.cluster.attach("pvc-rwx", "n2");
    r.cluster.attach("pvc-rwx", "n3");
    r.rds.allowed.set("pvc-rwx", [hostNqn("n1"), hostNqn("n2"), hostNqn("n3")]);
    await r.resync();
    for (const node of ["n1", "n2"]) {
      r.cluster.setReady(node, "Unknown");
      r.cluster.annotate(node, MARK_FAILED_ANNOTATION, "true");
    }
    const signal = new AbortController().signal;
    await Promise.all([r.reconciler.reconcileNode("n1", signal), r.reconciler.reconcileNode("n2", signal)]);
    expect(["n1", "n2"].map((node) => fenceRecordOf(r.cluster.node(node)!)?.phase)).toEqual(["done", "done"]);
    expect(r.rds.allowed.get("pvc-rwx")).toEqual([hostNqn("n3")]);
  });

  it("without verified host access control reports the storage side unavailable (metric, event, warning) and fences with the taint alone", async () => {
    const r = rig({ hostAccessControl: false });
    await attachAndFail(r, GRACE + 5_000);
    expect(r.rds.allowed.get("pvc-a")).toEqual([hostNqn("n1")]);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toMatchObject({ strategies: { taint: "success", storage: "unavailable" } });
    const text = await r.metricsText();
    expect(text).toContain("rds_csi_reconciler_storage_fencing_available 0");
    expect(text).toContain('rds_csi_reconciler_fences_total{strategy="storage",result="unavailable"} 1');
    expect(r.cluster.events.map((event) => event.reason)).toContain("StorageFenceUnavailable");
    expect(r.logs().some((line) => line.level === "warn" && line.message.includes("storage-side fencing unavailable"))).toBe(true);
  });

  it("with the taint strategy alone never touches the RDS", async () => {
    const r = rig({ overrides: { strategies: { taint: true, storage: false } } });
    await attachAndFail(r, GRACE + 5_000);
    expect(r.rds.allowed.get("pvc-a")).toEqual([hostNqn("n1")]);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toMatchObject({ strategies: { taint: "success" } });
    expect(fenceRecordOf(r.cluster.node("n1")!)?.strategies.storage).toBeUndefined();
    expect(await r.metricsText()).not.toContain('strategy="storage"');
  });

  it("a storage fence that fails still taints, and says so", async () => {
    const r = rig();
    r.cluster.attach("pvc-a", "n1");
    r.rds.allowed.set("pvc-a", [hostNqn("n1")]);
    r.rds.failing = true;
    await r.resync();
    await failNode(r, "n1", GRACE + 5_000);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toMatchObject({ strategies: { taint: "success", storage: "failed" } });
    expect(await r.metricsText()).toContain('rds_csi_reconciler_fences_total{strategy="storage",result="failed"} 1');
  });

  it("finishes a fence another replica started at the step it stopped, without starting a second one", async () => {
    const r = rig();
    await r.resync();
    r.cluster.setReady("n1", "Unknown");
    const started = { phase: "started", detectedAt: "2025-12-31T23:59:00.000Z", startedAt: "2025-12-31T23:59:30.000Z", strategies: { storage: "success" }, connectionsCut: true };
    await r.cluster.setNodeAnnotation("n1", FENCE_ANNOTATION, JSON.stringify(started));
    r.cluster.writes.length = 0;
    await r.resync();
    expect(r.cluster.writes).toEqual(["taint n1", `annotate n1 ${FENCE_ANNOTATION}`]);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toMatchObject({ phase: "done", startedAt: started.startedAt, detectedAt: started.detectedAt });
    await r.resync();
    expect(r.cluster.writes).toHaveLength(2);
    expect(r.cluster.events.filter((event) => event.reason === "NodeFenced")).toHaveLength(1);
    expect(await r.metricsText()).not.toContain('strategy="storage"');
  });

  it("a taint patch that loses a race with another writer of the Node fails the node's turn (the queue retries it), the storage side not repeated", async () => {
    const r = rig();
    r.cluster.attach("pvc-a", "n1");
    r.rds.allowed.set("pvc-a", [hostNqn("n1")]);
    await r.resync();
    await failNode(r, "n1", GRACE);
    r.cluster.taintConflicts = 1;
    r.clock.advance(5_000);
    expect(await r.resync()).toEqual([expect.any(ConflictError)]);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toMatchObject({ phase: "started", strategies: { storage: "success" } });
    await r.resync();
    expect(fenceRecordOf(r.cluster.node("n1")!)).toMatchObject({ phase: "done", strategies: { taint: "success", storage: "success" }, taintAdded: true });
    const text = await r.metricsText();
    expect(text).toContain('rds_csi_reconciler_fences_total{strategy="storage",result="success"} 1');
    expect(text).toContain('rds_csi_reconciler_fences_total{strategy="taint",result="success"} 1');
    expect(r.cluster.events.filter((event) => event.reason === "NodeFenced")).toHaveLength(1);
  });

  it("writes nothing once it is no longer the leader", async () => {
    const r = rig();
    await r.resync();
    r.cluster.setReady("n1", "Unknown");
    r.clock.advance(GRACE + 1);
    for (const node of ["n0", "n2", "n3"]) r.cluster.renew(node);
    r.leader.value = false;
    expect(await r.resync()).toEqual([expect.any(NotLeaderError)]);
    expect(r.cluster.writes).toEqual([]);
  });

  it("dry-run logs what it would do and writes nothing, to the cluster or the RDS", async () => {
    const r = rig({ dryRun: true });
    await attachAndFail(r, GRACE + 20_000);
    expect(r.cluster.writes).toEqual([]);
    expect(r.cluster.events).toEqual([]);
    expect(r.rds.allowed.get("pvc-a")).toEqual([hostNqn("n1")]);
    const text = await r.metricsText();
    expect(text).toContain('rds_csi_reconciler_fences_total{strategy="taint",result="dry_run"} 1');
    expect(text).toContain('rds_csi_reconciler_fences_total{strategy="storage",result="dry_run"} 1');
    expect(r.logs().filter((line) => line.message.startsWith("dry run: would taint node n1"))).toHaveLength(1);
  });
});

describe("Reconciler: safety brakes", () => {
  it("fences nobody when more than the configured share of nodes look failed at once, and says so", async () => {
    const r = rig({ nodes: 4 });
    await r.resync();
    for (const node of ["n1", "n2", "n3"]) r.cluster.setReady(node, "Unknown");
    for (let i = 0; i < 20; i++) {
      r.clock.advance(5_000);
      r.cluster.renew("n0");
      await r.resync();
    }
    expect(r.cluster.writes).toEqual([]);
    expect(await r.metricsText()).toContain('rds_csi_reconciler_fencing_paused{reason="mass_failure"} 1');
    expect(r.logs().some((line) => line.level === "error" && line.message === "fencing paused by a safety brake")).toBe(true);
  });

  it("starts at most N fences per window, counting fences recorded on the Nodes", async () => {
    const r = rig({ nodes: 10, overrides: { brakes: { maxFences: 2, windowMs: 600_000, maxFailedShare: 0.5 } } });
    await r.resync();
    for (const node of ["n1", "n2", "n3"]) r.cluster.setReady(node, "Unknown");
    for (let i = 0; i < 14; i++) {
      r.clock.advance(5_000);
      for (const node of ["n0", "n4", "n5", "n6", "n7", "n8", "n9"]) r.cluster.renew(node);
      await r.resync();
    }
    const fenced = ["n1", "n2", "n3"].filter((node) => fenceRecordOf(r.cluster.node(node)!) !== undefined);
    expect(fenced).toHaveLength(2);
    expect(await r.metricsText()).toContain('rds_csi_reconciler_fencing_paused{reason="rate_limit"} 1');
    r.clock.advance(600_000);
    for (const node of ["n0", "n4", "n5", "n6", "n7", "n8", "n9"]) r.cluster.renew(node);
    await r.resync();
    expect(["n1", "n2", "n3"].every((node) => fenceRecordOf(r.cluster.node(node)!) !== undefined)).toBe(true);
    expect(await r.metricsText()).toContain('rds_csi_reconciler_fencing_paused{reason="rate_limit"} 0');
  });

  it("admits no more fences than the window allows when several nodes are reconciled at once", async () => {
    const r = rig({ nodes: 10, overrides: { brakes: { maxFences: 2, windowMs: 600_000, maxFailedShare: 0.5 } } });
    await r.resync();
    for (const node of ["n1", "n2", "n3"]) {
      r.cluster.setReady(node, "Unknown");
      r.cluster.annotate(node, MARK_FAILED_ANNOTATION, "true");
    }
    const signal = new AbortController().signal;
    await Promise.all(["n1", "n2", "n3"].map((node) => r.reconciler.reconcileNode(node, signal)));
    expect(["n1", "n2", "n3"].filter((node) => fenceRecordOf(r.cluster.node(node)!) !== undefined)).toHaveLength(2);
    expect(await r.metricsText()).toContain('rds_csi_reconciler_fencing_paused{reason="rate_limit"} 1');
  });
});

describe("Reconciler: freeing volumes", () => {
  it("deletes the VolumeAttachments of a fenced node, and removes the attacher's finalizer only when stuck past the timeout on a storage-fenced node", async () => {
    const r = rig();
    const va = await attachAndFail(r, GRACE + 5_000);
    expect(r.cluster.attachment(va)?.metadata?.deletionTimestamp).toBeDefined();
    expect(await r.metricsText()).toContain("rds_csi_reconciler_volume_attachments_freed_total 1");
    await failNode(r, "n1", 115_000);
    expect(r.cluster.attachment(va)).toBeDefined();
    await failNode(r, "n1", 10_000);
    expect(r.cluster.attachment(va)).toBeUndefined();
    expect(await r.metricsText()).toContain("rds_csi_reconciler_finalizers_removed_total 1");
    expect(r.cluster.events.map((event) => event.reason)).toEqual(expect.arrayContaining(["VolumeAttachmentFreed", "AttacherFinalizerRemoved"]));
  });

  it("before removing the finalizer, shuts the node out again of an export an allow-list write after the fence let it back into; keeps the finalizer while it cannot", async () => {
    const r = rig();
    const va = await attachAndFail(r, GRACE + 5_000);
    expect(r.rds.allowed.get("pvc-a")).toEqual([NO_HOST_NQN]);
    // A ControllerPublish that read n1's Node before the fence record rewrote the list after the revoke.
    r.rds.allowed.set("pvc-a", [hostNqn("n1")]);
    r.rds.failing = true;
    await failNode(r, "n1", 125_000);
    expect(r.cluster.attachment(va)?.metadata?.finalizers).toEqual(["external-attacher/rds-csi-srvlab-io"]);
    expect(r.logs().some((line) => line.level === "warn" && line.message.startsWith("cannot make sure the export of pvc-a still shuts the fenced node out"))).toBe(true);

    r.rds.failing = false;
    await failNode(r, "n1", 5_000);
    expect(r.rds.allowed.get("pvc-a")).toEqual([NO_HOST_NQN]);
    expect(r.cluster.attachment(va)).toBeUndefined();
    expect(r.logs().filter((line) => line.message.startsWith("the export admitted the fenced node again"))).toHaveLength(1);
    expect(await r.metricsText()).toContain("rds_csi_reconciler_finalizers_removed_total 1");
  });

  it.each([
    ["storage fencing unavailable", { hostAccessControl: false }],
    ["live connections not proved cut", { live: "kept" as const }],
  ])("never removes the finalizer when %s", async (_case, options) => {
    const r = rig(options);
    const va = await attachAndFail(r, GRACE + 600_000, 30_000);
    expect(r.cluster.attachment(va)?.metadata?.finalizers).toEqual(["external-attacher/rds-csi-srvlab-io"]);
  });

  it("never touches a VolumeAttachment whose node is Ready and lists the volume in use", async () => {
    const r = rig();
    const va = r.cluster.attach("pvc-a", "n1");
    await r.resync();
    await r.cluster.setNodeAnnotation("n1", FENCE_ANNOTATION, JSON.stringify({ phase: "done", detectedAt: "2026-01-01T00:00:00Z", startedAt: "2026-01-01T00:00:00Z", strategies: {} }));
    await r.resync();
    expect(r.cluster.attachment(va)?.metadata?.deletionTimestamp).toBeUndefined();
  });

  it("deletes the VolumeAttachments of a deleted node but never removes their finalizer", async () => {
    const r = rig();
    const va = r.cluster.attach("pvc-a", "n1");
    await r.resync();
    r.cluster.deleteNode("n1");
    r.clock.advance(1_000);
    await r.resync();
    expect(r.cluster.attachment(va)?.metadata?.deletionTimestamp).toBeDefined();
    r.clock.advance(600_000);
    await r.resync();
    expect(r.cluster.attachment(va)?.metadata?.finalizers).toHaveLength(1);
  });

  it("observes the failover time once the volume is attached to another node", async () => {
    const r = rig();
    const va = await attachAndFail(r, GRACE + 5_000);
    r.cluster.removeAttachment(va);
    r.cluster.attach("pvc-a", "n2");
    await failNode(r, "n1", 5_000);
    expect(await r.metricsText()).toMatch(/rds_csi_reconciler_failover_seconds_count 1/);
  });
});

describe("Reconciler: a node that comes back", () => {
  async function fencedRig(): Promise<Rig> {
    const r = rig();
    const va = await attachAndFail(r, GRACE + 5_000);
    r.cluster.removeAttachment(va);
    return r;
  }

  async function comeBack(r: Rig, forMs: number): Promise<void> {
    r.cluster.setReady("n1", "True");
    for (let spent = 0; spent < forMs; spent += 5_000) {
      r.clock.advance(5_000);
      for (const node of r.cluster.nodes()) r.cluster.renew(node.metadata?.name ?? "");
      await r.resync();
    }
  }

  it("is unfenced only after Ready with a fresh Lease for the stabilisation period and its plugin's clean-up report", async () => {
    const r = await fencedRig();
    await comeBack(r, 60_000);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toBeDefined();
    expect(await r.metricsText()).toContain('rds_csi_reconciler_nodes{state="recovering"} 1');
    r.cluster.annotate("n1", CLEANED_UP_ANNOTATION, "2026-01-01T00:05:00Z");
    await comeBack(r, 5_000);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toBeUndefined();
    expect(r.cluster.node("n1")?.spec?.taints).toEqual([]);
    expect(r.cluster.events.map((event) => event.reason)).toContain("NodeUnfenced");
  });

  it("gives its host back to the exports of the VolumeAttachments it kept attached before the fence record goes; a volume that moved stays without it", async () => {
    const r = rig();
    const movedVa = r.cluster.attach("pvc-a", "n1");
    // pvc-b is an RWX volume on n1 and n2; the API server refuses to delete n1's VolumeAttachment while
    // n1 is away, and once n1 is Ready again and uses the volume, the reconciler leaves it alone.
    const keptVa = r.cluster.attach("pvc-b", "n1");
    r.cluster.attach("pvc-b", "n2");
    r.cluster.undeletable.add(keptVa);
    r.rds.allowed.set("pvc-a", [hostNqn("n1")]);
    r.rds.allowed.set("pvc-b", [hostNqn("n1"), hostNqn("n2")]);
    await r.resync();
    await failNode(r, "n1", GRACE + 5_000);
    expect(r.rds.allowed.get("pvc-a")).toEqual([NO_HOST_NQN]);
    expect(r.rds.allowed.get("pvc-b")).toEqual([hostNqn("n2")]);
    r.cluster.removeAttachment(movedVa);
    r.cluster.attach("pvc-a", "n2");
    r.rds.allowed.set("pvc-a", [hostNqn("n2")]);

    // The RDS does not answer when the node qualifies: access cannot be given back, so it stays fenced.
    r.cluster.annotate("n1", CLEANED_UP_ANNOTATION, "2026-01-01T00:05:00Z");
    r.rds.failing = true;
    await comeBack(r, 35_000);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toBeDefined();
    expect(r.cluster.node("n1")?.spec?.taints).toHaveLength(1);
    expect(r.logs().some((line) => line.level === "warn" && line.message.startsWith("cannot give the node access back to its exports"))).toBe(true);

    r.rds.failing = false;
    await comeBack(r, 5_000);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toBeUndefined();
    expect(r.rds.allowed.get("pvc-b")).toEqual([hostNqn("n2"), hostNqn("n1")]);
    expect(r.rds.allowed.get("pvc-a")).toEqual([hostNqn("n2")]);
    expect(r.cluster.events.filter((event) => event.reason === "AccessRestored")).toEqual([
      {
        subject: expect.objectContaining({ kind: "VolumeAttachment", name: keptVa }),
        type: "Normal",
        reason: "AccessRestored",
        message: `node n1 is unfenced and still attached: its host ${hostNqn("n1")} is admitted to the export of pvc-b again`,
      },
    ]);
    expect(r.logs().filter((line) => line.message.startsWith("export access given back"))).toHaveLength(1);

    // Idempotent: later turns find the host admitted and write nothing more.
    await comeBack(r, 10_000);
    expect(r.rds.allowed.get("pvc-b")).toEqual([hostNqn("n2"), hostNqn("n1")]);
    expect(r.cluster.events.filter((event) => event.reason === "AccessRestored")).toHaveLength(1);
  });

  it("is not unfenced by a clean-up report older than the fence, nor before the stabilisation period", async () => {
    const r = rig();
    r.cluster.annotate("n1", CLEANED_UP_ANNOTATION, "2025-12-01T00:00:00Z");
    await r.resync();
    await failNode(r, "n1", GRACE + 5_000);
    await comeBack(r, 60_000);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toBeDefined();
    r.cluster.annotate("n1", CLEANED_UP_ANNOTATION, "2026-01-01T00:05:00Z");
    r.cluster.setReady("n1", "False");
    await r.resync();
    await comeBack(r, 25_000);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toBeDefined();
    await comeBack(r, 10_000);
    expect(fenceRecordOf(r.cluster.node("n1")!)).toBeUndefined();
  });
});
