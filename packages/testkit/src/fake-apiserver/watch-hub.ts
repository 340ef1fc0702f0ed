import type { StoredChange } from "./object-store.js";
import type { ResourceKind } from "./resources.js";

/** An open watch as the hub sees it. */
export interface WatchSubscriber {
  readonly kind: ResourceKind;
  deliver(change: StoredChange): void;
  /** ends the watch stream (cleanly, as a server-side timeout would) */
  end(): void;
}

export type SubscribeOutcome = "subscribed" | "expired";

/**
 * The bounded history of writes and the open watches. A watch starts after a resource version: the
 * retained changes after it are replayed, then live changes follow. A resource version older than the
 * retained history is expired, as a compacted etcd revision is.
 */
export class WatchHub {
  readonly #history: StoredChange[] = [];
  readonly #subscribers = new Set<WatchSubscriber>();
  readonly #historySize: number;
  /** watches may start at this resource version or later */
  #oldestRv = 0;

  constructor(historySize: number) {
    if (!Number.isInteger(historySize) || historySize < 1) throw new RangeError(`historySize must be a positive integer, got ${historySize}`);
    this.#historySize = historySize;
  }

  record(change: StoredChange): void {
    this.#history.push(change);
    while (this.#history.length > this.#historySize) this.#oldestRv = this.#history.shift()!.rv;
    for (const subscriber of [...this.#subscribers]) {
      if (subscriber.kind === change.kind) subscriber.deliver(change);
    }
  }

  oldestRv(): number {
    return this.#oldestRv;
  }

  /** Replays the retained changes after `sinceRv` to the subscriber, then keeps it subscribed. */
  subscribe(subscriber: WatchSubscriber, sinceRv: number): SubscribeOutcome {
    if (sinceRv < this.#oldestRv) return "expired";
    for (const change of this.#history) {
      if (change.rv > sinceRv && change.kind === subscriber.kind) subscriber.deliver(change);
    }
    this.#subscribers.add(subscriber);
    return "subscribed";
  }

  unsubscribe(subscriber: WatchSubscriber): void {
    this.#subscribers.delete(subscriber);
  }

  openCount(): number {
    return this.#subscribers.size;
  }

  /** Forgets the history: only watches from `currentRv` or later can start. */
  compact(currentRv: number): void {
    this.#history.length = 0;
    this.#oldestRv = currentRv;
  }

  /** Ends every open watch. */
  closeAll(): void {
    for (const subscriber of [...this.#subscribers]) subscriber.end();
    this.#subscribers.clear();
  }
}
