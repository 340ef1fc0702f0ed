import { untilAborted } from "./until-aborted.js";

/**
 * Runs tasks one at a time per key, in arrival order, and forgets a key once its last task
 * settled (so the map never grows). Used where a read-compute-write against the RDS must not
 * interleave with another for the same key (a volume): two host allow-list updates computed from different
 * moments would otherwise land in either order, and the older one could re-admit a node that left.
 * A failed task does not block the next; a caller whose signal aborts while waiting leaves the queue.
 */
export class KeyedSequencer {
  readonly #tails = new Map<string, Promise<void>>();

  get size(): number {
    return this.#tails.size;
  }

  run<T>(key: string, signal: AbortSignal, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(() => {
      signal.throwIfAborted();
      return task();
    });
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return untilAborted(signal, result);
  }
}
