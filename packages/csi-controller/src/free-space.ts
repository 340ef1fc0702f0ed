import { ResourceExhaustedError, untilAborted } from "@rds-csi/core";
import { type RdsClient } from "@rds-csi/core/routeros";

/**
 * How long one reading of the pool stands in for a fresh one. Only space taken by something other than
 * this controller (another replica during a leader hand-over, another writer on the pool) can make the
 * estimate too high, and only for this long; the RDS then refuses a disk that does not fit.
 */
export const FREE_SPACE_MAX_AGE_MS = 1_000;

interface Reading {
  readonly freeBytes: bigint;
  readonly takenAtMs: number;
  /** operations finished at or before this tick had finished before the pool was read: the reading holds them */
  readonly tick: number;
}

/** A reading of the pool under way, and the signal of the operation that began it. */
interface PendingRead {
  readonly tick: number;
  readonly reading: Promise<Reading>;
  readonly signal: AbortSignal;
}

interface Claim {
  readonly bytes: bigint;
  /** the tick at which the operation finished; undefined while it runs */
  doneTick: number | undefined;
}

/**
 * The free-space check of everything this controller puts on the pool (create, clone, restore, expand,
 * snapshot), checked before anything is made so that a disk the pool cannot hold fails cleanly with the
 * numbers an operator needs, without a read of the pool for every operation: a reading stands for up to
 * FREE_SPACE_MAX_AGE_MS, less the bytes of every operation started since, and of those still running
 * when it was taken, so for this controller's own work it can only err low. All of them must go through
 * here: one that took space unseen would make the estimate too high. An estimate that says "not enough"
 * is read again before anyone is refused, and an operation that fails throws the reading away, so the
 * next one reads the pool. Operations that need a reading while one is under way, and no operation
 * finished since it began, share it: a burst of creates meeting a stale reading reads the pool once, not
 * once per create. When the RDS itself refuses for lack of space, the answer carries a fresh reading's
 * numbers like the check's own.
 */
export class FreeSpace {
  readonly #rds: RdsClient;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #claims = new Set<Claim>();
  #reading: Reading | undefined;
  #pending: PendingRead | undefined;
  #tick = 0;

  constructor(rds: RdsClient, options: { readonly maxAgeMs?: number; readonly now?: () => number } = {}) {
    this.#rds = rds;
    this.#maxAgeMs = options.maxAgeMs ?? FREE_SPACE_MAX_AGE_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Runs `make`, which takes `neededBytes` of the pool (a new disk, a disk grown), only if the pool can hold them. */
  async take<T>(neededBytes: bigint, what: string, signal: AbortSignal, make: () => Promise<T>): Promise<T> {
    const cached = this.#reading;
    if (cached === undefined || this.#now() - cached.takenAtMs > this.#maxAgeMs || this.#available(cached) < neededBytes) {
      await this.#read(signal);
      const reading = this.#reading!;
      const available = this.#available(reading);
      if (available < neededBytes) throw notEnoughSpace(what, neededBytes, reading.freeBytes, reading.freeBytes - available);
    }
    const claim: Claim = { bytes: neededBytes, doneTick: undefined };
    this.#claims.add(claim);
    try {
      return await make();
    } catch (err) {
      // In doubt: the next operation reads the pool.
      if (this.#reading) this.#reading = { ...this.#reading, takenAtMs: Number.NEGATIVE_INFINITY };
      if (!(err instanceof ResourceExhaustedError)) throw err;
      const fresh = await this.#read(signal, { shared: false }).catch(() => undefined);
      throw fresh === undefined ? err : notEnoughSpace(what, neededBytes, fresh.freeBytes, 0n, err);
    } finally {
      this.#tick += 1;
      claim.doneTick = this.#tick;
      this.#forgetHeldClaims();
    }
  }

  /** Free bytes in `reading`, less what the operations it does not hold take. */
  #available(reading: Reading): bigint {
    let claimed = 0n;
    for (const claim of this.#claims) if (claim.doneTick === undefined || claim.doneTick > reading.tick) claimed += claim.bytes;
    return reading.freeBytes - claimed;
  }

  /**
   * A reading begun since the last operation finished holds everything a new one would, so it is shared
   * (unless `shared` is false: the RDS just refused, and the numbers must postdate that). An operation
   * waits for a shared reading only as long as its own signal allows, and reads for itself when the
   * operation that began it gave up; a reading that failed otherwise fails every operation waiting for it.
   */
  async #read(signal: AbortSignal, { shared = true } = {}): Promise<Reading> {
    const pending = this.#pending;
    if (shared && pending?.tick === this.#tick) {
      try {
        return await untilAborted(signal, pending.reading);
      } catch (err) {
        if (signal.aborted || !pending.signal.aborted) throw err;
      }
    }
    const reading = this.#readPool(signal);
    const started = { tick: this.#tick, reading, signal };
    this.#pending = started;
    try {
      return await reading;
    } finally {
      if (this.#pending === started) this.#pending = undefined;
    }
  }

  async #readPool(signal: AbortSignal): Promise<Reading> {
    const reading = { tick: this.#tick, takenAtMs: this.#now(), freeBytes: (await this.#rds.capacity(signal)).freeBytes };
    // Of two readings in flight at once, the one begun later holds more; readings only move forward.
    if (this.#reading === undefined || reading.tick >= this.#reading.tick) this.#reading = reading;
    this.#forgetHeldClaims();
    return reading;
  }

  /** Finished operations that the current reading holds, and so every later one, need no counting. */
  #forgetHeldClaims(): void {
    const held = this.#reading?.tick ?? -1;
    for (const claim of this.#claims) if (claim.doneTick !== undefined && claim.doneTick <= held) this.#claims.delete(claim);
  }
}

function notEnoughSpace(what: string, neededBytes: bigint, freeBytes: bigint, inProgressBytes = 0n, cause?: unknown): ResourceExhaustedError {
  const taken = inProgressBytes > 0n ? ` (${inProgressBytes} of them being taken by operations in progress)` : "";
  return new ResourceExhaustedError(
    `not enough free space on the RDS for ${what}: ${neededBytes} bytes requested, ${freeBytes} bytes free${taken}`,
    cause === undefined ? undefined : { cause },
  );
}
