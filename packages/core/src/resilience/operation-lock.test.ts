import { AbortedError } from "../errors.js";
import { OperationLocks } from "./operation-lock.js";

/** A promise the test settles by hand, to hold a lock for exactly as long as it wants. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const never = new AbortController().signal;

describe("OperationLocks", () => {
  it("runs one caller per key and turns every concurrent caller away at once", async () => {
    const locks = new OperationLocks({ label: "volume" });
    const gate = deferred<string>();
    let started = 0;
    const fn = (): Promise<string> => {
      started++;
      return gate.promise;
    };
    const holder = locks.run("pvc-1", never, fn);
    const others = await Promise.allSettled(Array.from({ length: 20 }, () => locks.run("pvc-1", never, fn)));

    // All of them settled while the holder is still running: nobody waited.
    expect(started).toBe(1);
    for (const other of others) {
      expect(other.status).toBe("rejected");
      const reason = (other as PromiseRejectedResult).reason as Error;
      expect(reason).toBeInstanceOf(AbortedError);
      expect(reason.message).toBe("an operation on volume pvc-1 is already in progress");
    }
    gate.resolve("done");
    await expect(holder).resolves.toBe("done");
  });

  it("names the bare key when no label is given", async () => {
    const locks = new OperationLocks();
    const gate = deferred();
    const holder = locks.run("snap-1", never, () => gate.promise);
    await expect(locks.run("snap-1", never, async () => {})).rejects.toThrow(
      "an operation on snap-1 is already in progress",
    );
    gate.resolve();
    await holder;
  });

  it("runs different keys in parallel", async () => {
    const locks = new OperationLocks();
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
    const runs = gates.map((gate, i) => locks.run(`pvc-${i}`, never, () => gate.promise));
    expect(locks.size).toBe(3);
    gates.forEach((gate, i) => gate.resolve(i));
    await expect(Promise.all(runs)).resolves.toEqual([0, 1, 2]);
    expect(locks.size).toBe(0);
  });

  it("passes fn the caller's signal", async () => {
    const locks = new OperationLocks();
    const signal = new AbortController().signal;
    await expect(locks.run("k", signal, async (given) => given)).resolves.toBe(signal);
  });

  it.each([
    ["fn resolves", async () => "ok"],
    ["fn rejects", async () => Promise.reject(new Error("boom"))],
    [
      "fn throws synchronously",
      (): Promise<string> => {
        throw new Error("sync boom");
      },
    ],
  ])("releases the key when %s", async (_, fn) => {
    const locks = new OperationLocks();
    await locks.run("pvc-1", never, fn).catch(() => undefined);
    expect(locks.size).toBe(0);
    await expect(locks.run("pvc-1", never, async () => "again")).resolves.toBe("again");
  });

  it("passes fn's rejection through untouched", async () => {
    const locks = new OperationLocks();
    const err = new Error("boom");
    await expect(locks.run("pvc-1", never, () => Promise.reject(err))).rejects.toBe(err);
    await expect(
      locks.run("pvc-1", never, () => {
        throw err;
      }),
    ).rejects.toBe(err);
  });

  it("releases a hung operation when its signal aborts, rejecting with the reason while fn sees the abort", async () => {
    const locks = new OperationLocks();
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const hung = locks.run("pvc-1", controller.signal, (signal) => {
      seen = signal;
      return new Promise<never>(() => {});
    });
    const reason = new DOMException("the call's deadline passed", "TimeoutError");
    controller.abort(reason);

    await expect(hung).rejects.toBe(reason);
    expect(seen?.aborted).toBe(true);
    expect(locks.size).toBe(0);
    await expect(locks.run("pvc-1", never, async () => "next")).resolves.toBe("next");
  });

  it("ignores what an abandoned fn does after its abort", async () => {
    const locks = new OperationLocks();
    const controller = new AbortController();
    const late = deferred();
    const abandoned = locks.run("pvc-1", controller.signal, () => late.promise);
    controller.abort(new Error("deadline"));
    await expect(abandoned).rejects.toThrow("deadline");

    const next = deferred<string>();
    const current = locks.run("pvc-1", never, () => next.promise);
    // The straggler finishing must neither release the new holder's lock nor surface as unhandled.
    late.reject(new Error("late failure"));
    await Promise.resolve();
    await expect(locks.run("pvc-1", never, async () => "intruder")).rejects.toBeInstanceOf(AbortedError);
    next.resolve("current");
    await expect(current).resolves.toBe("current");
    expect(locks.size).toBe(0);
  });

  it("does not run fn or take the key when the signal is already aborted", async () => {
    const locks = new OperationLocks();
    const reason = new Error("too late");
    let ran = false;
    const run = locks.run("pvc-1", AbortSignal.abort(reason), async () => {
      ran = true;
    });
    await expect(run).rejects.toBe(reason);
    expect(ran).toBe(false);
    expect(locks.size).toBe(0);
  });
});
