import { ResourceExhaustedError } from "@rds-csi/core";
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
