import { setTimeout as sleep } from "node:timers/promises";
import { fenceRecordOf } from "./fence-record.js";
import { MARK_FAILED_ANNOTATION } from "./failure-detector.js";
import { Reconciler } from "./reconciler.js";
import { ReconcilerQueues, type ReconcilerEvents, type ReconcilerQueuesOptions } from "./reconciler-queues.js";
import { StorageFence } from "./storage-fence.js";
import { WriteGuard } from "./write-guard.js";
import { DRIVER, hostNqn, MemoryCluster, MemoryRds, recordingLogger, testMetrics } from "../test/support/memory-cluster.js";
import { NO_HOST_NQN } from "@rds-csi/core/routeros";

const HOUR = 3_600_000;

/** The informers' events, fired by the test. */
class TestEvents implements ReconcilerEvents {
  #node: (name: string) => void = () => {};
  onNodeWork(handler: (nodeName: string) => void): void {
    this.#node = handler;
  }
  onLease(): void {}
  async waitForSync(): Promise<void> {}
  changed(nodeName: string): void {
    this.#node(nodeName);
  }
}

async function eventually(check: () => boolean, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not so within ${withinMs} ms`);
    await sleep(10);
  }
}

function queues(options: Partial<ReconcilerQueuesOptions> & Pick<ReconcilerQueuesOptions, "reconciler">): { queues: ReconcilerQueues; events: TestEvents; logs: ReturnType<typeof recordingLogger>["lines"] } {
  const events = new TestEvents();
  const { logger, lines } = recordingLogger();
  const built = new ReconcilerQueues({
    audit: { run: async () => [] },
    events,
    leader: { isLeader: () => true, termSignal: () => new AbortController().signal },
    resyncIntervalMs: HOUR,
    auditIntervalMs: HOUR,
    logger,
    retry: { baseDelayMs: 50, maxDelayMs: 1_000 },
    ...options,
  });
  return { queues: built, events, logs: lines };
}

describe("ReconcilerQueues: the reconciler on core's work queue", () => {
  it("retries a node whose fence failed after its backoff, without waiting for the next resync", async () => {
    const cluster = new MemoryCluster();
    for (const name of ["n0", "n1", "n2", "n3"]) cluster.addNode(name);
    cluster.attach("pvc-a", "n1");
    const rds = new MemoryRds();
    rds.allowed.set("pvc-a", [hostNqn("n1")]);
    cluster.setReady("n1", "Unknown");
    cluster.annotate("n1", MARK_FAILED_ANNOTATION, "true");
    cluster.annotationFailures = 1; // the fence's first write (its record) fails once
    const { logger } = recordingLogger();
    const guard = new WriteGuard({ dryRun: false, isLeader: () => true, logger });
    const reconciler = new Reconciler({
      driverName: DRIVER,
      view: cluster,
      writes: cluster,
      storage: new StorageFence({ rds: rds.asRdsClient(), hostAccessControl: true, liveConnections: "dropped", guard, logger }),
      strategies: { taint: true, storage: true },
      guard,
      events: cluster,
      metrics: testMetrics().metrics,
      logger,
      now: Date.now,
      graceMs: HOUR,
      brakes: { maxFences: 3, windowMs: HOUR, maxFailedShare: 0.5 },
      finalizerTimeoutMs: HOUR,
      stabilizationMs: HOUR,
    });
    const rig = queues({ reconciler });
    rig.queues.start();
    try {
      // The resync after the informers listed is the only one within the test: the next is an hour away.
      await eventually(() => fenceRecordOf(cluster.node("n1")!)?.phase === "done", 5_000);
      expect(cluster.writes.slice(0, 2)).toEqual(["annotate n1 failed", "annotate n1 rds.csi.srvlab.io/fence"]);
      expect(rds.allowed.get("pvc-a")).toEqual([NO_HOST_NQN]);
      const retried = rig.logs().filter((line) => line.message === "nodes: reconciling failed; retrying with backoff");
      expect(retried).toEqual([expect.objectContaining({ key: "n1", failures: 1 })]);
      // The fenced node's VolumeAttachment is freed in the same turn.
      expect(cluster.writes).toContain("delete csi-pvc-a-n1");
    } finally {
      await rig.queues.stop();
    }
  });

  it("never runs one node's work twice at once: events that arrive meanwhile fold into one more turn, while other nodes go on", async () => {
    const running = new Set<string>();
    const turns: string[] = [];
    let overlapped = false;
    let parallel = false;
    const reconciler = {
      nodeNames: () => [],
      observe: () => {},
      observeLease: () => {},
      async reconcileNode(name: string) {
        if (running.has(name)) overlapped = true;
        running.add(name);
        if (running.size > 1) parallel = true;
        turns.push(name);
        await sleep(100);
        running.delete(name);
      },
    };
    const rig = queues({ reconciler });
    rig.queues.start();
    try {
      await sleep(10);
      rig.events.changed("n1");
      await sleep(20);
      for (let i = 0; i < 5; i++) rig.events.changed("n1");
      rig.events.changed("n2");
      await eventually(() => turns.length === 3 && running.size === 0, 2_000);
      await sleep(150);
      expect(overlapped).toBe(false);
      expect(parallel).toBe(true);
      expect(turns.filter((name) => name === "n1")).toHaveLength(2);
    } finally {
      await rig.queues.stop();
    }
  });

  it("on a standby only observes; once leading it looks at every node and audits at once", async () => {
    const observed: string[] = [];
    const reconciled: string[] = [];
    const leader = { value: false };
    let audits = 0;
    const reconciler = {
      nodeNames: () => ["n0", "n1"],
      observe: (name: string) => void observed.push(name),
      observeLease: () => {},
      reconcileNode: async (name: string) => void reconciled.push(name),
    };
    const rig = queues({
      reconciler,
      leader: { isLeader: () => leader.value, termSignal: () => new AbortController().signal },
      audit: {
        run: async () => {
          audits++;
          return [];
        },
      },
    });
    rig.queues.start();
    try {
      await eventually(() => observed.length === 2, 1_000);
      rig.queues.leading(); // as LeaderElector.onChange(true) does, but isLeader still says no: nothing acts
      await sleep(50);
      expect(reconciled).toEqual([]);
      expect(audits).toBe(0);
      leader.value = true;
      rig.queues.leading();
      await eventually(() => reconciled.length === 2 && audits === 1, 1_000);
      expect(reconciled.sort()).toEqual(["n0", "n1"]);
    } finally {
      await rig.queues.stop();
    }
  });

  it("retries a failed orphan audit with backoff, and drops work cut short by lost leadership without retrying it", async () => {
    const leader = { value: true };
    let audits = 0;
    const reconciler = {
      nodeNames: () => ["n1"],
      observe: () => {},
      observeLease: () => {},
      async reconcileNode() {
        leader.value = false;
        throw new Error("write cancelled: the term ended");
      },
    };
    const rig = queues({
      reconciler,
      leader: { isLeader: () => leader.value, termSignal: () => new AbortController().signal },
      auditIntervalMs: 200,
      audit: {
        run: async () => {
          audits++;
          if (audits === 1) throw new Error("the RDS does not answer");
          return [];
        },
      },
    });
    rig.queues.start();
    try {
      rig.queues.leading();
      await eventually(() => rig.logs().some((line) => line.message === "node n1: stopped, leadership lost"), 1_000);
      leader.value = true;
      await eventually(() => audits >= 2, 2_000);
      const lines = rig.logs();
      expect(lines.filter((line) => line.message === "orphan audit: reconciling failed; retrying with backoff")).toHaveLength(1);
      expect(lines.some((line) => line.message === "nodes: reconciling failed; retrying with backoff")).toBe(false);
    } finally {
      await rig.queues.stop();
    }
  });
});
