import { setTimeout as sleep } from "node:timers/promises";
import { Writable } from "node:stream";
import { createLogger, InvalidArgumentError } from "@rds-csi/core";
import { LeaderElector, type KubeClient, type Lease } from "@rds-csi/core/k8s";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver.js";
import { fakeKubeClient } from "./kube-config.js";

/** Compressed timings with client-go's proportions (15 s / 10 s / 2 s). */
const TIMING = { leaseDurationMs: 600, renewDeadlineMs: 400, retryPeriodMs: 100 };
const NAMESPACE = "rds-csi";

/**
 * Lease leader election over HTTP against the fake API server, with replicas cut off one at a time by
 * the fake's per-client partition. The invariant under test: never two replicas that believe they may act.
 */
describe("LeaderElector against the fake API server", () => {
  let api: FakeApiServer;
  const clients: KubeClient[] = [];
  const electors: LeaderElector[] = [];
  const logger = createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, callback) => callback() }) });

  beforeEach(async () => {
    api = await startFakeApiServer({ namespaces: [NAMESPACE] });
  });
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((elector) => elector.stop()));
    for (const client of clients.splice(0)) client.connection.close();
    await api.stop();
  });

  const replica = (identity: string, timing = TIMING): LeaderElector => {
    const client = fakeKubeClient(api.url, identity);
    clients.push(client);
    const elector = new LeaderElector({ client, namespace: NAMESPACE, name: "reconciler", identity, logger, timing });
    electors.push(elector);
    return elector;
  };
  const until = async (what: string, condition: () => boolean, timeoutMs = 5_000): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(2);
    }
    return performance.now();
  };
  const lease = (): Lease | undefined => api.get("Lease", NAMESPACE, "reconciler") as Lease | undefined;

  /** Samples every replica every 2 ms; fails the test if two ever believe they lead at once. */
  const watchForTwoLeaders = (replicas: readonly LeaderElector[]): { stop: () => { samples: number; overlaps: string[] } } => {
    const overlaps: string[] = [];
    let samples = 0;
    const timer = setInterval(() => {
      samples++;
      const leaders = replicas.filter((r) => r.isLeader()).map((r) => r.identity);
      if (leaders.length > 1) overlaps.push(leaders.join("+"));
    }, 2);
    return {
      stop: () => {
        clearInterval(timer);
        return { samples, overlaps };
      },
    };
  };

  it("acquires, renews with MicroTime stamps, and a second replica follows", async () => {
    const a = replica("pod-a");
    a.start();
    await until("pod-a leads", () => a.isLeader());
    const b = replica("pod-b");
    b.start();
    const first = lease()!.spec!.renewTime!;
    expect(first).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await sleep(TIMING.leaseDurationMs * 2);
    expect(a.isLeader()).toBe(true);
    expect(b.isLeader()).toBe(false);
    expect(b.status()).toEqual({ identity: "pod-b", leader: false, holder: "pod-a" });
    expect(lease()!.spec).toMatchObject({ holderIdentity: "pod-a", leaseTransitions: 0 });
    expect(lease()!.spec!.renewTime).not.toBe(first);
    const { isLeader } = a; // bound: can be handed to a write guard
    expect(isLeader()).toBe(true);
    expect(a.termSignal().aborted).toBe(false);
    expect(b.termSignal().aborted).toBe(true);
  });

  it("releases on stop (SIGTERM) so the other replica takes over at once, not after the lease duration", async () => {
    const a = replica("pod-a", { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 100 });
    const b = replica("pod-b", { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 100 });
    a.start();
    await until("pod-a leads", () => a.isLeader());
    b.start();
    await sleep(300);
    const term = a.termSignal();
    const stopped = performance.now();
    const stopping = a.stop();
    expect(a.isLeader()).toBe(false); // at once, before the release is even sent
    expect(term.aborted).toBe(true);
    await stopping;
    const took = (await until("pod-b leads", () => b.isLeader())) - stopped;
    expect(took).toBeLessThan(1_000); // a retry period or two, far below the 3 s lease
    expect(lease()!.spec).toMatchObject({ holderIdentity: "pod-b", leaseTransitions: 1 });
  });

  it("a leader cut off from the API server stops acting before the other replica acquires", async () => {
    const a = replica("pod-a");
    const b = replica("pod-b");
    const changes: { who: string; leader: boolean; at: number }[] = [];
    for (const r of [a, b]) r.onChange((leader) => changes.push({ who: r.identity, leader, at: performance.now() }));
    a.start();
    await until("pod-a leads", () => a.isLeader());
    b.start();
    await sleep(200);
    const monitor = watchForTwoLeaders([a, b]);
    api.partition("pod-a");
    const cut = performance.now();
    await until("pod-b leads", () => b.isLeader());
    const { overlaps, samples } = monitor.stop();
    expect(overlaps).toEqual([]);
    expect(samples).toBeGreaterThan(50);
    const aStopped = changes.find((c) => c.who === "pod-a" && !c.leader)!;
    const bStarted = changes.find((c) => c.who === "pod-b" && c.leader)!;
    expect(aStopped.at).toBeLessThan(bStarted.at);
    // By its own clock, no answer needed (the slack is only how late the 2 ms sampler runs on a busy machine).
    expect(aStopped.at - cut).toBeLessThanOrEqual(TIMING.renewDeadlineMs + 150);
    // The deposed leader comes back as a follower and does not take the Lease back.
    api.heal("pod-a");
    await sleep(TIMING.leaseDurationMs);
    expect(a.isLeader()).toBe(false);
    expect(b.isLeader()).toBe(true);
  });

  it("randomized partitions of three replicas: never two leaders at once, and leadership moves", async () => {
    const replicas = ["pod-a", "pod-b", "pod-c"].map((id) => replica(id));
    const leaders = new Set<string>();
    for (const r of replicas) r.onChange((leader) => leader && leaders.add(r.identity));
    for (const r of replicas) r.start();
    const monitor = watchForTwoLeaders(replicas);
    let seed = 20261207;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 8; round++) {
      const victim = replicas[Math.floor(random() * replicas.length)]!;
      const current = replicas.find((r) => r.isLeader());
      // Mostly cut the leader (the interesting case), sometimes a follower; hold it for 0.1–1.3 lease durations.
      const cut = current !== undefined && random() < 0.7 ? current : victim;
      api.partition(cut.identity);
      await sleep(TIMING.leaseDurationMs * (0.1 + 1.2 * random()));
      api.heal(cut.identity);
      await sleep(TIMING.retryPeriodMs * (1 + 3 * random()));
    }
    const { overlaps, samples } = monitor.stop();
    expect(overlaps).toEqual([]);
    expect(samples).toBeGreaterThan(500);
    expect(leaders.size).toBeGreaterThan(1);
  }, 30_000);

  it("refuses timing that breaks the argument (renew deadline not below the lease duration)", () => {
    const client = fakeKubeClient(api.url);
    clients.push(client);
    const make = (timing: object) => new LeaderElector({ client, namespace: NAMESPACE, name: "x", identity: "p", logger, timing });
    expect(() => make({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(InvalidArgumentError);
    expect(() => make({ renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(InvalidArgumentError);
    expect(() => new LeaderElector({ client, namespace: NAMESPACE, name: "x", identity: "", logger })).toThrow(InvalidArgumentError);
  });
});
