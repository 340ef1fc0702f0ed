// cockatiel's backoff modules only: its index loads every policy (~1.2 MB RSS measured), and the node
// plugin, which backs off but never retries through a policy, is measured for memory.
import { ExponentialBackoff } from "cockatiel/dist/backoff/ExponentialBackoff.js";
import { decorrelatedJitterGenerator, noJitterGenerator } from "cockatiel/dist/backoff/ExponentialBackoffGenerators.js";
import type { IBackoff, IBackoffFactory } from "cockatiel/dist/backoff/Backoff.js";
import { InvalidArgumentError } from "../errors.js";

/** Delays are in the caller's unit: milliseconds for a wait, sweeps for a loop that runs on a period. */
export interface BackoffSettings {
  /** The wait after the first failure. */
  readonly initialDelay: number;
  /** No wait is longer. */
  readonly maxDelay: number;
  /**
   * "decorrelated": cockatiel's decorrelated jitter (Polly's), so that clients failing together do not
   * retry together (the RDS's SSH server, the API server). "none": exactly initial × 2^n, for a
   * wait a single caller owns and a test or an operator reads off the logs.
   */
  readonly jitter: "decorrelated" | "none";
}

/**
 * The driver's one exponential backoff, as cockatiel's ExponentialBackoff with our bounds: handed to
 * cockatiel's `retry()` as its backoff, or driven by `Backoff` in a loop of our own.
 */
export function exponentialBackoff(settings: BackoffSettings): IBackoffFactory<unknown> {
  const { initialDelay, maxDelay } = settings;
  if (!(Number.isFinite(initialDelay) && initialDelay > 0 && Number.isFinite(maxDelay) && maxDelay >= initialDelay)) {
    throw new InvalidArgumentError(`backoff needs 0 < initialDelay <= maxDelay, got ${initialDelay} and ${maxDelay}`);
  }
  const bounds = { initialDelay, maxDelay };
  return settings.jitter === "none"
    ? new ExponentialBackoff({ ...bounds, generator: noJitterGenerator })
    : new ExponentialBackoff({ ...bounds, generator: decorrelatedJitterGenerator });
}

/**
 * Consecutive failures and the wait each one earns, for a loop that retries by itself (a reconnect, a
 * relist, a status update): `next()` after a failure, `reset()` after a success.
 */
export class Backoff {
  readonly #policy: IBackoffFactory<unknown>;
  #state: IBackoff<unknown> | undefined;
  #failures = 0;

  constructor(settings: BackoffSettings) {
    this.#policy = exponentialBackoff(settings);
  }

  /** Counts a failure and returns how long to wait before the next attempt. */
  next(): number {
    this.#state = this.#state ? this.#state.next(undefined) : this.#policy.next(undefined);
    this.#failures++;
    return this.#state.duration;
  }

  /** A success: the next failure waits the initial delay again. */
  reset(): void {
    this.#state = undefined;
    this.#failures = 0;
  }

  /** Failures since the last success. */
  get failures(): number {
    return this.#failures;
  }
}
