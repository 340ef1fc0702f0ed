import { InvalidArgumentError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { Backoff } from "../resilience/backoff.js";
import { retryAfterMs } from "./kube-request.js";

export interface WorkQueueOptions {
  /** Wait before the first retry of a key; doubled per consecutive failure of that key. Default 100 ms. */
  readonly baseDelayMs?: number;
  /** The longest wait between retries of one key. Default 60 s. */
  readonly maxDelayMs?: number;
}

/**
 * A queue of object keys to reconcile, on client-go's workqueue model (util/workqueue: queue.go,
 * delaying_queue.go, default_rate_limiters.go' ItemExponentialFailureRateLimiter):
 * - a key waiting in the queue is there once, however often it is added (events fold into one pass);
 * - a key is handed to one worker at a time: added while being processed, it is queued again only
 *   when that worker calls `done`, so two workers never reconcile the same object at once;
 * - `addRateLimited` retries a failed key after base × 2^failures (capped), per key, so one object
 *   that keeps failing neither spins nor delays the others; `forget` resets it after a success.
 * The handler decides from the current state (the informer's cache), never from the event that
 * queued the key: that is what makes a retry, or several events folded into one, correct.
 */
export class WorkQueue {
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #queue: string[] = [];
  /** keys that need processing: queued, or added again while being processed */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, Backoff>();
  /** keys waiting for a delay, with when they are due */
  readonly #delayed = new Map<string, { readonly at: number; readonly timer: NodeJS.Timeout }>();
  readonly #getters: Array<(key: string | undefined) => void> = [];
  #shutDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 100;
    this.#maxDelayMs = options.maxDelayMs ?? 60_000;
    if (!(this.#baseDelayMs > 0) || !(this.#maxDelayMs >= this.#baseDelayMs)) {
      throw new InvalidArgumentError(`work queue delays must satisfy 0 < baseDelayMs <= maxDelayMs, got ${this.#baseDelayMs} and ${this.#maxDelayMs}`);
    }
  }

  /** Keys waiting to be handed out (not those being processed or delayed). */
  get length(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#shutDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const getter = this.#getters.shift();
    if (getter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      getter(key);
    } else {
      this.#queue.push(key);
    }
  }

  /** Adds `key` after `delayMs`; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shutDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.#delayed.set(key, { at, timer });
  }

  /** Adds `key` after its backoff (and not before `atLeastMs`, a server's Retry-After), counting a failure. */
  addRateLimited(key: string, atLeastMs = 0): void {
    let backoff = this.#failures.get(key);
    if (backoff === undefined) {
      backoff = new Backoff({ initialDelay: this.#baseDelayMs, maxDelay: this.#maxDelayMs, jitter: "none" });
      this.#failures.set(key, backoff);
    }
    this.addAfter(key, Math.max(atLeastMs, backoff.next()));
  }

  /** The key succeeded: its next failure starts the backoff from the beginning. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** Consecutive failures of `key` since it was last forgotten. */
  failures(key: string): number {
    return this.#failures.get(key)?.failures ?? 0;
  }

  /**
   * The next key, marked as being processed until `done(key)`; waits for one. Undefined once the queue
   * is shut down or `signal` aborts.
   */
  get(signal: AbortSignal): Promise<string | undefined> {
    if (this.#shutDown || signal.aborted) return Promise.resolve(undefined);
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => {
      const getter = (got: string | undefined): void => {
        signal.removeEventListener("abort", onAbort);
        resolve(got);
      };
      const onAbort = (): void => {
        const index = this.#getters.indexOf(getter);
        if (index >= 0) this.#getters.splice(index, 1);
        resolve(undefined);
      };
      this.#getters.push(getter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** The worker finished `key`; if it was added meanwhile, it is queued again now. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  /** Stops handing out keys: waiting `get`s resolve undefined, delayed keys are dropped. */
  shutDown(): void {
    this.#shutDown = true;
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    for (const getter of this.#getters.splice(0)) getter(undefined);
  }
}

export interface WorkersOptions {
  /** What the workers are called in logs, e.g. `volumeattachments` */
  readonly name: string;
  /** How many keys are processed at once (never the same key twice). */
  readonly workers: number;
  /** Reconciles one key from current state; a throw retries it after its backoff. Must honour `signal`. */
  readonly handle: (key: string, signal: AbortSignal) => Promise<void>;
  readonly logger: Logger;
}

/**
 * Runs `workers` loops over `queue` until `signal` aborts (then the queue is shut down), and resolves
 * once every loop ended. A key whose handler throws goes back with `addRateLimited` — after the API
 * server's Retry-After when it sent one — and one that succeeds is forgotten.
 */
export async function runWorkers(queue: WorkQueue, options: WorkersOptions, signal: AbortSignal): Promise<void> {
  const { name, handle, logger } = options;
  signal.addEventListener("abort", () => queue.shutDown(), { once: true });
  if (signal.aborted) queue.shutDown();
  const loop = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get(signal);
      if (key === undefined) return;
      try {
        await handle(key, signal);
        queue.forget(key);
      } catch (err) {
        if (signal.aborted) return;
        queue.addRateLimited(key, retryAfterMs(err));
        logger.warn(`${name}: reconciling failed; retrying with backoff`, { key, failures: queue.failures(key), error: err instanceof Error ? err.message : String(err) });
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: options.workers }, loop));
}
