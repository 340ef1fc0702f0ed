import { ResourceExhaustedError, UnavailableError } from "@rds-csi/core";
import type { RdsCapacity, RdsClient } from "@rds-csi/core/routeros";
import { FreeSpace } from "./free-space.js";

const GiB = 1024n ** 3n;
const signal = new AbortController().signal;

/** An RDS whose pool reports `free` bytes free; counts the readings. */
function pool(free: bigint): { rds: RdsClient; readings: () => number; setFree: (bytes: bigint) => void } {
  let readings = 0;
  let freeBytes = free;
  const capacity = async (): Promise<RdsCapacity> => {
    readings++;
    return { totalBytes: 100n * GiB, freeBytes };
  };
  return { rds: { capacity } as unknown as RdsClient, readings: () => readings, setFree: (bytes) => (freeBytes = bytes) };
}

/** A pool whose readings are answered only when the test says so; counts them. */
function heldPool(free: bigint): { rds: RdsClient; readings: () => number; answer: () => void } {
  const held: (() => void)[] = [];
  let readings = 0;
  const capacity = async (): Promise<RdsCapacity> => {
    readings++;
    await new Promise<void>((resolve) => held.push(resolve));
    return { totalBytes: 100n * GiB, freeBytes: free };
  };
  return { rds: { capacity } as unknown as RdsClient, readings: () => readings, answer: () => held.splice(0).forEach((resolve) => resolve()) };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("FreeSpace", () => {
  let nowMs = 0;
  const now = (): number => nowMs;
  beforeEach(() => {
    nowMs = 0;
  });

  it("reads the pool once for a burst of creates that fit, counting what each one takes", async () => {
    const { rds, readings } = pool(3n * GiB);
    const space = new FreeSpace(rds, { now });
    for (let i = 0; i < 3; i++) await space.take(GiB, "volume v", signal, async () => "made");
    expect(readings()).toBe(1);
  });

  it("reads again before refusing, and refuses with the requested and free bytes", async () => {
    const { rds, readings, setFree } = pool(GiB);
    const space = new FreeSpace(rds, { now });
    await space.take(GiB, "volume a", signal, async () => undefined);
    setFree(5n * GiB); // a delete elsewhere freed space: the estimate (0 bytes) would refuse wrongly
    await space.take(GiB, "volume b", signal, async () => undefined);
    expect(readings()).toBe(2);
    setFree(GiB - 1n);
    nowMs = 10_000;
    let made = false;
    const make = async (): Promise<void> => {
      made = true;
    };
    await expect(space.take(GiB, "volume c", signal, make)).rejects.toThrow(
      new ResourceExhaustedError(`not enough free space on the RDS for volume c: ${GiB} bytes requested, ${GiB - 1n} bytes free`),
    );
    expect(made).toBe(false);
  });

  it("reads the pool again once the reading is older than its age limit", async () => {
    const { rds, readings } = pool(10n * GiB);
    const space = new FreeSpace(rds, { now, maxAgeMs: 1_000 });
    await space.take(GiB, "volume a", signal, async () => undefined);
    nowMs = 1_001;
    await space.take(GiB, "volume b", signal, async () => undefined);
    expect(readings()).toBe(2);
  });

  it("counts a create still running when the pool was read, which the reading cannot show yet", async () => {
    const { rds } = pool(2n * GiB);
    const space = new FreeSpace(rds, { now });
    let finish: () => void = () => undefined;
    const running = space.take(GiB, "volume a", signal, () => new Promise<void>((resolve) => (finish = resolve)));
    await new Promise((resolve) => setImmediate(resolve));
    nowMs = 10_000; // stale: the next create reads the pool, which still shows 2 GiB free
    await expect(space.take(2n * GiB, "volume b", signal, async () => undefined)).rejects.toThrow(
      `${2n * GiB} bytes requested, ${2n * GiB} bytes free (${GiB} of them being taken by operations in progress)`,
    );
    finish();
    await running;
  });

  it("reads the pool for the next create after one failed", async () => {
    const { rds, readings } = pool(10n * GiB);
    const space = new FreeSpace(rds, { now });
    await expect(space.take(GiB, "volume a", signal, async () => Promise.reject(new Error("lost")))).rejects.toThrow("lost");
    await space.take(GiB, "volume b", signal, async () => undefined);
    expect(readings()).toBe(2);
  });

  it("reads the pool once for operations that need a reading together", async () => {
    const { rds, readings, answer } = heldPool(10n * GiB);
    const space = new FreeSpace(rds, { now });
    const burst = Array.from({ length: 5 }, (_, i) => space.take(GiB, `volume ${i}`, signal, async () => i));
    await settle();
    expect(readings()).toBe(1);
    answer();
    await expect(Promise.all(burst)).resolves.toEqual([0, 1, 2, 3, 4]);
    expect(readings()).toBe(1);
  });

  it("does not share a reading begun before an operation finished with one that starts after", async () => {
    const { rds, readings, answer } = heldPool(10n * GiB);
    const space = new FreeSpace(rds, { now });
    let finishA: () => void = () => undefined;
    const a = space.take(GiB, "volume a", signal, () => new Promise<void>((resolve) => (finishA = resolve)));
    await settle();
    answer();
    await settle();
    nowMs = 10_000; // stale: b reads the pool while a is still being made
    const b = space.take(GiB, "volume b", signal, async () => undefined);
    await settle();
    expect(readings()).toBe(2);
    finishA();
    await a;
    // b's reading may not show a: c reads for itself
    const c = space.take(GiB, "volume c", signal, async () => undefined);
    await settle();
    expect(readings()).toBe(3);
    answer();
    await Promise.all([b, c]);
  });

  it("lets an operation that gave up leave a shared reading without failing the others", async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let readings = 0;
    const capacity = async (readSignal: AbortSignal): Promise<RdsCapacity> => {
      readings++;
      await Promise.race([gate, new Promise((_, reject) => readSignal.addEventListener("abort", () => reject(readSignal.reason)))]);
      return { totalBytes: 100n * GiB, freeBytes: 10n * GiB };
    };
    const space = new FreeSpace({ capacity } as unknown as RdsClient, { now });
    const first = new AbortController();
    const gaveUp = space.take(GiB, "volume a", first.signal, async () => "a");
    const waiting = space.take(GiB, "volume b", signal, async () => "b");
    await new Promise((resolve) => setImmediate(resolve));
    expect(readings).toBe(1);
    first.abort(new Error("caller gone"));
    await expect(gaveUp).rejects.toThrow("caller gone");
    open();
    await expect(waiting).resolves.toBe("b");
    expect(readings).toBe(2);
  });

  it("fails every operation waiting for a reading that failed, and lets a waiter that gave up leave at once", async () => {
    let fail: (err: Error) => void = () => undefined;
    let readings = 0;
    const capacity = (): Promise<RdsCapacity> => (readings++, new Promise((_, reject) => (fail = reject)));
    const space = new FreeSpace({ capacity } as unknown as RdsClient, { now });
    const leaving = new AbortController();
    const made: string[] = [];
    const started = ["a", "b", "c"].map((name) =>
      space.take(GiB, `volume ${name}`, name === "c" ? leaving.signal : signal, async () => void made.push(name)),
    );
    await settle();
    leaving.abort(new Error("c gave up"));
    await expect(started[2]).rejects.toThrow("c gave up");
    fail(new UnavailableError("RDS 192.0.2.1 unreachable"));
    await expect(started[0]).rejects.toThrow("unreachable");
    await expect(started[1]).rejects.toThrow("unreachable");
    expect({ readings, made }).toEqual({ readings: 1, made: [] });
  });

  it("answers the RDS's own refusal with a fresh reading's numbers", async () => {
    const { rds, setFree } = pool(10n * GiB);
    const space = new FreeSpace(rds, { now });
    const refused = space.take(GiB, "volume a", signal, async () => {
      setFree(0n); // another writer took the pool between the check and the add
      throw new ResourceExhaustedError("not enough space");
    });
    await expect(refused).rejects.toThrow(`not enough free space on the RDS for volume a: ${GiB} bytes requested, 0 bytes free`);
  });
});
