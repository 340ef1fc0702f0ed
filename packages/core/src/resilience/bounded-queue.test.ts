import { InvalidArgumentError } from "../errors.js";
import { BoundedQueue } from "./bounded-queue.js";

const never = new AbortController().signal;

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("BoundedQueue", () => {
  it("with concurrency 1 runs tasks one at a time in arrival order", async () => {
    const queue = new BoundedQueue(1);
    const events: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const runs = gates.map((gate, i) =>
      queue.run(never, async () => {
        events.push(`start ${i}`);
        await gate.promise;
        events.push(`end ${i}`);
        return i;
      }),
    );
    expect(queue.depth).toBe(3);
    gates[2]!.resolve();
    gates[1]!.resolve();
    gates[0]!.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(events).toEqual(["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]);
    expect(queue.depth).toBe(0);
  });

  it("starts an urgent waiter ahead of earlier ones that are not, urgent ones in arrival order; one that gives up leaves its lane", async () => {
    const queue = new BoundedQueue(1);
    const started: string[] = [];
    const releaseFirst = await queue.acquire(never);
    const waiter = (name: string, options: { urgent?: boolean; signal?: AbortSignal } = {}): Promise<void> =>
      queue.acquire(options.signal ?? never, options).then((release) => {
        started.push(name);
        release();
      });
    const leaving = new AbortController();
    const waiters = [
      waiter("read 1"),
      waiter("read 2"),
      waiter("urgent 1", { urgent: true }),
      waiter("urgent that gave up", { urgent: true, signal: leaving.signal }),
      waiter("urgent 2", { urgent: true }),
    ];
    expect(queue.depth).toBe(6);
    leaving.abort(new Error("gave up"));
    await expect(waiters[3]).rejects.toThrow("gave up");
    expect(queue.depth).toBe(5);
    releaseFirst();
    await Promise.all(waiters.filter((_, i) => i !== 3));
    expect(started).toEqual(["urgent 1", "urgent 2", "read 1", "read 2"]);
  });

  it("never runs more than its concurrency, and starts waiters in arrival order", async () => {
    const queue = new BoundedQueue(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const gates = Array.from({ length: 6 }, deferred);
    const runs = gates.map((gate, i) =>
      queue.run(never, async () => {
        started.push(i);
        running += 1;
        peak = Math.max(peak, running);
        await gate.promise;
        running -= 1;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    gates[1]!.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    for (const gate of gates) gate.resolve();
    await Promise.all(runs);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(queue.depth).toBe(0);
  });

  it("keeps going after a task fails", async () => {
    const queue = new BoundedQueue(1);
    const failed = queue.run(never, async () => {
      throw new Error("RDS said no");
    });
    const next = queue.run(never, async () => "ok");
    await expect(failed).rejects.toThrow("RDS said no");
    await expect(next).resolves.toBe("ok");
  });

  it("lets an aborted waiter leave without running, and the queue moves on", async () => {
    const queue = new BoundedQueue(1);
    const gate = deferred();
    const first = queue.run(never, () => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const waiter = queue.run(controller.signal, async () => {
      ran = true;
    });
    const third = queue.run(never, async () => "third");
    controller.abort(new DOMException("deadline", "TimeoutError"));
    await expect(waiter).rejects.toMatchObject({ name: "TimeoutError" });
    expect(queue.depth).toBe(2);
    gate.resolve();
    await first;
    await expect(third).resolves.toBe("third");
    expect(ran).toBe(false);
    expect(queue.depth).toBe(0);
  });

  it("does not start a task whose signal is already aborted", async () => {
    const queue = new BoundedQueue(1);
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    let ran = false;
    await expect(queue.run(controller.signal, async () => void (ran = true))).rejects.toThrow("gone");
    expect(ran).toBe(false);
    expect(queue.depth).toBe(0);
  });

  it("holds an acquired slot until its release, which counts once, and hands it to the next waiter", async () => {
    const queue = new BoundedQueue(1);
    const release = await queue.acquire(never);
    let second: (() => void) | undefined;
    const waiting = queue.acquire(never).then((r) => (second = r));
    await tick();
    expect(second).toBeUndefined();
    expect(queue.depth).toBe(2);
    release();
    release(); // a second call must not free a slot nobody holds
    await waiting;
    expect(queue.depth).toBe(1);
    let third = false;
    const late = queue.acquire(never).then((r) => {
      third = true;
      return r;
    });
    await tick();
    expect(third).toBe(false);
    second!();
    (await late)();
    expect(queue.depth).toBe(0);
  });

  it("refuses a concurrency below 1", () => {
    expect(() => new BoundedQueue(0)).toThrow(InvalidArgumentError);
  });
});
