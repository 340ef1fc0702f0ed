import { InvalidArgumentError } from "../errors.js";

/**
 * Starts tasks in arrival order with at most `concurrency` running at once; a caller waits its turn,
 * but only as long as its own signal allows (an aborted waiter leaves the queue without running).
 * Contrast `OperationLocks`, where a second caller for the same volume is refused at once.
 *
 * The RDS executes mutating commands one at a time. The RouterOS client keeps a small window of them
 * outstanding (2 by default): enough that the RDS's own queue never runs dry while a reply travels back,
 * few enough that a burst of creates cannot take every SSH channel from the reads. An urgent waiter goes
 * ahead of every waiter that is not (urgent ones keep their arrival order): the SSH transport gives the
 * commands that feed the RDS's one-at-a-time queue a channel before reads that do not.
 */
export class BoundedQueue {
  readonly #concurrency: number;
  readonly #waiting: Array<() => void> = [];
  readonly #urgentWaiting: Array<() => void> = [];
  #running = 0;

  constructor(concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError(`queue concurrency must be a whole number >= 1, got ${concurrency}`);
    }
    this.#concurrency = concurrency;
  }

  /** Tasks queued or running. */
  get depth(): number {
    return this.#running + this.#waiting.length + this.#urgentWaiting.length;
  }

  async run<T>(signal: AbortSignal, task: () => Promise<T>): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  /**
   * Waits for a slot and returns its release, for a holder whose work outlives one promise (the SSH
   * transport gives a channel's slot back only once the RDS acknowledged the close). Call it once.
   */
  async acquire(signal: AbortSignal, { urgent = false }: { readonly urgent?: boolean } = {}): Promise<() => void> {
    signal.throwIfAborted();
    if (this.#running >= this.#concurrency) await this.#turn(signal, urgent ? this.#urgentWaiting : this.#waiting);
    else this.#running += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release();
    };
  }

  /** Resolves when a running task hands its slot over; rejects (and gives up the place) on abort. */
  #turn(signal: AbortSignal, lane: Array<() => void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const start = (): void => {
        signal.removeEventListener("abort", leave);
        resolve();
      };
      const leave = (): void => {
        lane.splice(lane.indexOf(start), 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", leave, { once: true });
      lane.push(start);
    });
  }

  /** The slot passes straight to the next waiter, so `running` never dips and no later arrival jumps ahead (but an urgent one). */
  #release(): void {
    const next = this.#urgentWaiting.shift() ?? this.#waiting.shift();
    if (next) next();
    else this.#running -= 1;
  }
}
