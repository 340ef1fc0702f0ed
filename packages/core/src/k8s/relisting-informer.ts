import { UnavailableError } from "../errors.js";
import type { CheckResult } from "../observability/health-server.js";
import type { Logger } from "../observability/logger.js";
import { Backoff } from "../resilience/backoff.js";
import { withDeadline } from "../resilience/with-deadline.js";
import { DeadlineWatch, WatchStatusError, type WatchDeadlines, type WatchEvent, type WatchTransport } from "./deadline-watch.js";
import type { KubeClient } from "./kube-client.js";
import type { KubeList, KubeObject } from "./kube-objects.js";

/** Every timing of an informer, with its defaults here and nowhere else. */
export interface InformerTuning {
  /** Deadline of one list call. */
  readonly listTimeoutMs: number;
  /**
   * A fresh list this often (±jitter) even when the watch looks healthy: it replays whatever a watch
   * silently lost, a missed DELETE above all, as added / modified / deleted.
   */
  readonly relistIntervalMs: number;
  readonly watch: WatchDeadlines;
  /** First wait after a failure; doubled per consecutive failure up to `backoffMaxMs`. */
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** Fraction (0..1) every timer is spread by, so replicas and informers do not relist in step. */
  readonly jitter: number;
}

export const DEFAULT_INFORMER_TUNING: InformerTuning = Object.freeze({
  listTimeoutMs: 30_000,
  relistIntervalMs: 10 * 60_000,
  watch: Object.freeze({ connectTimeoutMs: 10_000, serverTimeoutSeconds: 5 * 60, idleTimeoutMs: 6 * 60_000 }),
  backoffInitialMs: 500,
  backoffMaxMs: 30_000,
  jitter: 0.2,
});

/**
 * A watch the server ends sooner than this without any event is a failure, not its timeout (client-go's
 * rule too); so is a 410 this soon on the first watch after a list, which would otherwise relist at once.
 */
const MIN_QUIET_WATCH_MS = 1_000;

export type InformerTuningOverrides = Partial<Omit<InformerTuning, "watch">> & { readonly watch?: Partial<WatchDeadlines> };

export interface RelistingInformerOptions<T extends KubeObject> {
  /** Plural resource name for logs and readiness messages, e.g. `volumeattachments`. */
  readonly resource: string;
  /** Collection path lists and watches go to, e.g. `/apis/storage.k8s.io/v1/volumeattachments`. */
  readonly path: string;
  /** Lists the collection; must honour `signal`. */
  readonly list: (signal: AbortSignal) => Promise<KubeList<T>>;
  /** Opens the watches; tests script one, `overApi` gives a DeadlineWatch. */
  readonly transport: WatchTransport;
  readonly logger: Logger;
  readonly tuning?: InformerTuningOverrides;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}


export type InformerEventType = "added" | "modified" | "deleted";
export interface InformerEvent<T> {
  readonly type: InformerEventType;
  readonly object: T;
}

export interface InformerStatus {
  readonly synced: boolean;
  /** ms since the epoch of the last list that succeeded */
  readonly lastListAt?: number;
  /** ms since the epoch of the last sign of life: a list, an event, a (re)connected watch */
  readonly lastActivityAt?: number;
  /** restarts after failures since start */
  readonly restarts: number;
  readonly lastError?: string;
}

type Waiter = { resolve: () => void; reject: (err: unknown) => void };

/**
 * A cache of one kind of object that keeps itself current and never stops for good. Each *generation*
 * lists, then watches from the list's resourceVersion, resuming from the last one seen when the server
 * ends a watch cleanly and relisting on 410 Gone. Any other error drops the generation, and a new one
 * starts after a jittered exponential backoff; a timer starts a new one even when all looks well. The
 * cache here is the one callers read, replaced by diff on every list, so a DELETE missed by a broken
 * watch still reaches the handlers.
 *
 * Nothing starts in the constructor; `start` begins, `stop` ends, and the caller owns both.
 */
export class RelistingInformer<T extends KubeObject> {
  readonly resource: string;
  readonly #options: RelistingInformerOptions<T>;
  readonly #tuning: InformerTuning;
  readonly #cache = new Map<string, T>();
  readonly #handlers = new Set<(event: InformerEvent<T>) => void>();
  readonly #waiters = new Set<Waiter>();
  #generation = 0;
  #current: AbortController | undefined;
  #stopping: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #backoff: Backoff;
  #restarts = 0;
  #synced = false;
  #lastListAt: number | undefined;
  #lastActivityAt: number | undefined;
  #lastError: string | undefined;

  /** An informer over the API server: paginated lists and DeadlineWatch watches through `client`. */
  static overApi<T extends KubeObject>(client: KubeClient, options: Omit<RelistingInformerOptions<T>, "list" | "transport">): RelistingInformer<T> {
    const tuning = resolveTuning(options.tuning);
    const { resource, path, labelSelector, fieldSelector } = options;
    return new RelistingInformer<T>({
      ...options,
      list: (signal) => client.list<T>(`list ${resource}`, path, signal, { labelSelector, fieldSelector, timeoutMs: tuning.listTimeoutMs }),
      transport: new DeadlineWatch(client.connection, tuning.watch),
    });
  }

  constructor(options: RelistingInformerOptions<T>) {
    this.resource = options.resource;
    this.#options = options;
    this.#tuning = resolveTuning(options.tuning);
    this.#backoff = new Backoff({ initialDelay: this.#tuning.backoffInitialMs, maxDelay: this.#tuning.backoffMaxMs, jitter: "none" });
  }

  /** True once a list succeeded; stays true (the cache may age, see `check`). */
  get synced(): boolean {
    return this.#synced;
  }

  start(): void {
    if (this.#stopping) return;
    this.#stopping = new AbortController();
    this.#begin();
  }

  async stop(): Promise<void> {
    const stopping = this.#stopping;
    if (!stopping) return;
    this.#stopping = undefined;
    clearTimeout(this.#timer);
    stopping.abort(new UnavailableError(`the ${this.resource} informer stopped`));
    this.#generation++;
    this.#retire();
    for (const waiter of this.#waiters) waiter.reject(stopping.signal.reason);
    this.#waiters.clear();
  }

  /** Resolves once the cache holds a full list; rejects with `signal.reason` when it aborts first. */
  waitForSync(signal: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waiters.delete(waiter);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        resolve: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (err) => {
          signal.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      this.#waiters.add(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  list(): readonly T[] {
    return [...this.#cache.values()];
  }

  /** `name` for cluster-scoped objects, `namespace/name` for namespaced ones. */
  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  /**
   * Called synchronously after the cache changed; returns the unsubscribe function. A handler only
   * enqueues the object's key (`queue.add(keyOf(event.object))`, see WorkQueue): the work happens in a
   * worker, which retries a failure. Nothing here replays an event whose handler failed.
   */
  onChange(handler: (event: InformerEvent<T>) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  status(): InformerStatus {
    return {
      synced: this.#synced,
      lastListAt: this.#lastListAt,
      lastActivityAt: this.#lastActivityAt,
      restarts: this.#restarts,
      lastError: this.#lastError,
    };
  }

  /**
   * Readiness: listed at least once, and the last successful list is younger than `maxListAgeMs`
   * (default: two relist intervals plus one list deadline, so one failed relist is tolerated).
   */
  check(now: number = Date.now(), maxListAgeMs?: number): CheckResult {
    const limit = maxListAgeMs ?? 2 * this.#tuning.relistIntervalMs + this.#tuning.listTimeoutMs;
    if (!this.#synced || this.#lastListAt === undefined) {
      return { ok: false, detail: `${this.resource}: not listed yet${this.#lastError ? ` (${this.#lastError})` : ""}` };
    }
    const age = now - this.#lastListAt;
    if (age > limit) {
      return { ok: false, detail: `${this.resource}: last successful list ${Math.round(age / 1000)} s ago${this.#lastError ? ` (${this.#lastError})` : ""}` };
    }
    return { ok: true };
  }

  #begin(): void {
    clearTimeout(this.#timer);
    this.#retire();
    const generation = ++this.#generation;
    const current = new AbortController();
    this.#current = current;
    const live = (): boolean => this.#stopping !== undefined && generation === this.#generation;
    this.#run(current.signal, live).catch((err: unknown) => {
      if (live()) this.#fail(err);
    });
    this.#timer = setTimeout(() => this.#begin(), this.#jittered(this.#tuning.relistIntervalMs));
  }

  /** One generation: list, then watch until an error; returns once retired or after handing over to a relist. */
  async #run(signal: AbortSignal, live: () => boolean): Promise<void> {
    const list = await withDeadline(signal, this.#tuning.listTimeoutMs, (bounded) => this.#options.list(bounded));
    if (!live()) return;
    this.#replace(list.items);
    let resourceVersion = list.metadata?.resourceVersion;
    for (let afterList = true; ; afterList = false) {
      const began = Date.now();
      let heard = false;
      const ended = await this.#watch(resourceVersion, signal, (event) => {
        heard = true;
        const object = event.object as T;
        resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
        if (event.type === "ADDED" || event.type === "MODIFIED") this.#upsert(object);
        else if (event.type === "DELETED") this.#remove(object);
        else this.#lastActivityAt = Date.now(); // BOOKMARK: only the resourceVersion moves
      });
      if (ended === undefined || !live()) return;
      const quiet = !heard && Date.now() - began < MIN_QUIET_WATCH_MS;
      // The backoff is reset by a watch that proved healthy, not by a list: a server that lists fine but
      // cannot watch would otherwise be retried at the first backoff step forever.
      if (!quiet) this.#backoff.reset();
      if (ended === null) {
        // A watch closed at once with nothing in it (a proxy that does not stream, an overloaded API
        // server) would be reopened in a tight loop: count it as a failure, which backs off and relists.
        if (quiet) throw new Error(`watch ${this.#options.path} ended within ${MIN_QUIET_WATCH_MS} ms without an event`);
        continue; // the server's timeout: resume where the watch stopped
      }
      if (ended instanceof WatchStatusError && ended.statusCode === 410) {
        // A resourceVersion from the list we just made cannot have been compacted away yet: a server that
        // says so at once would have us list in a tight loop, so that counts as a failure, which backs off.
        if (afterList && quiet) throw new Error(`watch ${this.#options.path} answered 410 within ${MIN_QUIET_WATCH_MS} ms of a fresh list: ${ended.message}`);
        // Our resourceVersion is older than the server keeps: relist, which is no failure.
        this.#begin();
        return;
      }
      throw ended;
    }
  }

  /** One watch; resolves with how it ended (null: cleanly), or undefined once `signal` retired it. */
  #watch(resourceVersion: string | undefined, signal: AbortSignal, apply: (event: WatchEvent) => void): Promise<Error | null | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    const { path, labelSelector, fieldSelector } = this.#options;
    return new Promise((resolve) => {
      const onAbort = (): void => {
        watch.abort();
        resolve(undefined);
      };
      const watch = this.#options.transport.watch(
        path,
        { resourceVersion, labelSelector, fieldSelector },
        (event) => {
          if (!signal.aborted) apply(event);
        },
        (err) => {
          signal.removeEventListener("abort", onAbort);
          resolve(err);
        },
      );
      this.#lastActivityAt = Date.now();
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #fail(err: unknown): void {
    this.#restarts++;
    this.#lastError = err instanceof Error ? err.message : String(err);
    const delay = this.#jittered(this.#backoff.next());
    this.#options.logger.warn("informer failed; restarting", { resource: this.resource, error: this.#lastError, delay_ms: Math.round(delay) });
    clearTimeout(this.#timer);
    this.#generation++;
    this.#retire();
    this.#timer = setTimeout(() => this.#begin(), delay);
  }

  #retire(): void {
    this.#current?.abort();
    this.#current = undefined;
  }

  #replace(items: readonly T[]): void {
    const now = Date.now();
    const fresh = new Map(items.map((item) => [keyOf(item), item]));
    for (const [key, old] of this.#cache) {
      if (!fresh.has(key)) {
        this.#cache.delete(key);
        this.#emit({ type: "deleted", object: old });
      }
    }
    for (const item of fresh.values()) this.#upsert(item);
    this.#lastListAt = now;
    this.#lastActivityAt = now;
    this.#lastError = undefined;
    if (!this.#synced) {
      this.#synced = true;
      this.#options.logger.info("informer synced", { resource: this.resource, objects: this.#cache.size });
    }
    for (const waiter of this.#waiters) waiter.resolve();
    this.#waiters.clear();
  }

  #upsert(object: T): void {
    this.#lastActivityAt = Date.now();
    const key = keyOf(object);
    const old = this.#cache.get(key);
    // resourceVersion is opaque: only equality means anything.
    if (old && old.metadata?.resourceVersion !== undefined && old.metadata.resourceVersion === object.metadata?.resourceVersion) return;
    this.#cache.set(key, object);
    this.#emit({ type: old ? "modified" : "added", object });
  }

  #remove(object: T): void {
    this.#lastActivityAt = Date.now();
    const key = keyOf(object);
    const old = this.#cache.get(key);
    if (!old) return;
    this.#cache.delete(key);
    this.#emit({ type: "deleted", object: old });
  }

  #emit(event: InformerEvent<T>): void {
    for (const handler of this.#handlers) {
      try {
        handler(event);
      } catch (err) {
        // A failing handler must not stop the cache or the other handlers. It is not replayed: the cache
        // is already written and a relist skips an unchanged resourceVersion. Hence handlers only enqueue.
        this.#options.logger.error("informer handler failed", { resource: this.resource, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  #jittered(ms: number): number {
    const spread = this.#tuning.jitter;
    return ms * (1 - spread + 2 * spread * Math.random());
  }
}

/** The cache key: `name`, or `namespace/name` for namespaced objects. */
export function keyOf(object: KubeObject): string {
  const namespace = object.metadata?.namespace;
  const name = object.metadata?.name ?? "";
  return namespace ? `${namespace}/${name}` : name;
}

function resolveTuning(overrides: InformerTuningOverrides = {}): InformerTuning {
  const { watch, ...rest } = overrides;
  return { ...DEFAULT_INFORMER_TUNING, ...rest, watch: { ...DEFAULT_INFORMER_TUNING.watch, ...watch } };
}
