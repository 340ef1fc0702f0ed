/**
 * Runs tasks one at a time, in arrival order. The RDS executes mutating commands one by one anyway;
 * queueing them here keeps a burst of creates from holding every SSH channel while they wait, and
 * makes "write, then read back" a unit no other mutation can interleave with.
 *
 * Unlike `OperationLocks` (a second caller for the same volume is refused at once), a caller here
 * waits its turn — but only as long as its own signal allows: an aborted waiter leaves the queue
 * without running.
 */
export class SerialQueue {
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  /** Tasks queued or running. */
  get depth(): number {
    return this.#waiting;
  }

  run<T>(signal: AbortSignal, task: () => Promise<T>): Promise<T> {
    this.#waiting += 1;
    const previous = this.#tail;
    let done!: () => void;
    this.#tail = new Promise<void>((resolve) => (done = resolve));
    const finish = (): void => {
      this.#waiting -= 1;
      done();
    };
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      void previous.then(async () => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) {
          finish();
          reject(signal.reason);
          return;
        }
        try {
          resolve(await task());
        } catch (err) {
          reject(err);
        } finally {
          finish();
        }
      });
    });
  }
}
