import { AbortedError } from "../errors.js";
import { untilAborted } from "./until-aborted.js";

export interface OperationLocksOptions {
  /** What a key names, for messages: "volume" gives "an operation on volume pvc-1 is already in progress". */
  readonly label?: string;
}

/**
 * One operation per key (volume, snapshot) at a time. A second caller for a held key gets
 * `AbortedError` at once and never queues: the CSI sidecars retry ABORTED with backoff, and a queue
 * would only stack up work for a caller that may already have given up.
 */
export class OperationLocks {
  readonly #held = new Set<string>();
  readonly #label: string;

  constructor(options: OperationLocksOptions = {}) {
    this.#label = options.label === undefined ? "" : `${options.label} `;
  }

  /** Keys held right now; the entry goes when the operation ends, so this never grows. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * Runs `fn` holding the lock for `key`. The lock is released when `fn` settles or throws, and also
   * as soon as `signal` aborts, even if `fn` never settles: run() then rejects with the signal's
   * reason, while `fn` keeps the aborted signal so it can stop. Releasing on the deadline is
   * deliberate: a hung call must never hold a volume's lock until the process restarts (democratic-csi
   * users saw "operation locked" for hours). Correctness rests on idempotent, read-back operations on
   * the RDS, not on this lock alone, so a retry that overlaps a straggler is safe.
   */
  async run<T>(key: string, signal: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    if (this.#held.has(key)) {
      throw new AbortedError(`an operation on ${this.#label}${key} is already in progress`);
    }
    this.#held.add(key);
    try {
      // The executor turns a synchronous throw from fn into a rejection, so it releases too.
      return await untilAborted(signal, new Promise<T>((resolve) => resolve(fn(signal))));
    } finally {
      this.#held.delete(key);
    }
  }
}
