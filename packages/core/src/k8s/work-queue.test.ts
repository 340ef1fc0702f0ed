import { setTimeout as sleep } from "node:timers/promises";
import { InvalidArgumentError } from "../errors.js";
import { memoryLogger } from "../../test/support/memory-logger.js";
import { KubeStatusError } from "./kube-request.js";
import { runWorkers, WorkQueue } from "./work-queue.js";

describe("WorkQueue", () => {
  const never = new AbortController().signal;

  it("holds a waiting key once, however often it is added", async () => {
    const queue = new WorkQueue();
    for (const key of ["a", "b", "a", "a", "b"]) queue.add(key);
    expect(queue.length).toBe(2);
    expect(await queue.get(never)).toBe("a");
    expect(await queue.get(never)).toBe("b");
    expect(queue.length).toBe(0);
  });

  it("hands a key to one worker at a time: added while processed, it comes back after done", async () => {
    const queue = new WorkQueue();
    queue.add("a");
    expect(await queue.get(never)).toBe("a");
    queue.add("a");
    queue.add("a");
    expect(queue.length).toBe(0); // not handed to a second worker while the first holds it
    queue.done("a");
    expect(queue.length).toBe(1);
    expect(await queue.get(never)).toBe("a");
    queue.done("a");
    expect(queue.length).toBe(0);
  });

  /** How long until `key` is handed out, waiting on the real clock. */
  const waitFor = async (queue: WorkQueue, key: string): Promise<number> => {
    const start = performance.now();
    expect(await queue.get(AbortSignal.timeout(2_000))).toBe(key);
    queue.done(key);
    return performance.now() - start;
  };

  it("retries a failing key after base x 2^failures, capped, and starts over after forget", async () => {
    const queue = new WorkQueue({ baseDelayMs: 40, maxDelayMs: 130 });
    const waited: number[] = [];
    for (let i = 0; i < 4; i++) {
      queue.addRateLimited("a");
      waited.push(await waitFor(queue, "a"));
    }
    // Lower bounds only: timers fire late on a loaded machine, never early.
    [40, 80, 130, 130].forEach((expected, i) => expect(waited[i]).toBeGreaterThanOrEqual(expected - 2));
    expect(queue.failures("a")).toBe(4);
    queue.forget("a");
    expect(queue.failures("a")).toBe(0);
    queue.addRateLimited("a");
    expect(queue.failures("a")).toBe(1); // the first step again: base x 2^0
    await waitFor(queue, "a");
    queue.addRateLimited("a", 200); // a server's Retry-After is a floor
    expect(await waitFor(queue, "a")).toBeGreaterThanOrEqual(198);
  });

  it("keeps the earlier of two delays for one key, and refuses nonsensical delays", async () => {
    const queue = new WorkQueue();
    queue.addAfter("a", 300);
    queue.addAfter("a", 20);
    queue.addAfter("a", 150);
    await waitFor(queue, "a");
    await sleep(350);
    expect(queue.length).toBe(0); // the later delays were dropped, not queued again
    expect(() => new WorkQueue({ baseDelayMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => new WorkQueue({ baseDelayMs: 10, maxDelayMs: 5 })).toThrow(InvalidArgumentError);
  });

  it("ends waiting gets on shutdown or abort and drops delayed keys", async () => {
    const queue = new WorkQueue();
    const aborted = new AbortController();
    const waiting = queue.get(aborted.signal);
    aborted.abort();
    expect(await waiting).toBeUndefined();
    const other = queue.get(never);
    queue.addAfter("late", 10);
    queue.shutDown();
    expect(await other).toBeUndefined();
    await sleep(20);
    queue.add("x");
    expect(queue.length).toBe(0);
  });
});

describe("runWorkers", () => {
  it("retries a key whose handler failed until it succeeds, with no new event, and never runs one key twice at once", async () => {
    const { logger, lines } = memoryLogger();
    const queue = new WorkQueue({ baseDelayMs: 5, maxDelayMs: 20 });
    const stop = new AbortController();
    const attempts = new Map<string, number>();
    const running = new Set<string>();
    let overlapped = false;
    const finished = new Set<string>();
    const workers = runWorkers(
      queue,
      {
        name: "test",
        workers: 3,
        logger,
        handle: async (key) => {
          if (running.has(key)) overlapped = true;
          running.add(key);
          try {
            const attempt = (attempts.get(key) ?? 0) + 1;
            attempts.set(key, attempt);
            await sleep(2);
            queue.add(key); // an event arriving mid-processing must not start a second worker on it
            if (key === "flaky" && attempt < 3) throw new Error("the API server said no");
            finished.add(key);
          } finally {
            running.delete(key);
          }
        },
      },
      stop.signal,
    );
    queue.add("flaky");
    queue.add("steady");
    while (!(finished.has("flaky") && finished.has("steady"))) await sleep(5);
    stop.abort();
    await workers;
    expect(overlapped).toBe(false);
    expect(attempts.get("flaky")).toBeGreaterThanOrEqual(3);
    expect(queue.failures("flaky")).toBe(0); // forgotten after its success
    expect(lines().filter((line) => line.message === "test: reconciling failed; retrying with backoff")).toHaveLength(2);
  });

  it("waits at least the API server's Retry-After before retrying", async () => {
    const { logger } = memoryLogger();
    const queue = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 1 });
    const stop = new AbortController();
    const at: number[] = [];
    const workers = runWorkers(
      queue,
      {
        name: "test",
        workers: 1,
        logger,
        handle: async () => {
          at.push(Date.now());
          if (at.length === 1) throw new Error("throttled", { cause: new KubeStatusError(429, "slow down", { retryAfterSeconds: 1 }) });
        },
      },
      stop.signal,
    );
    queue.add("k");
    while (at.length < 2) await sleep(20);
    stop.abort();
    await workers;
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(990);
  });
});
