import { abortableSleep, withDeadline, type Logger, type MetricsRegistry } from "@rds-csi/core";
import { type RdsClient } from "@rds-csi/core/routeros";

/** Told after the controller changed the RDS's volumes or free space. Returns at once and never throws. */
export interface VolumeGauges {
  /** Volume `id` was created, grown or deleted; `present` says whether it exists now, as the RDS client read it back. */
  changed(id: string, present: boolean): void;
}

export interface RdsVolumeGaugesOptions {
  readonly rds: RdsClient;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  /** how often the volumes are listed and the pool read; default 60 s */
  readonly intervalMs?: number;
  /** deadline of one read; default 30 s */
  readonly timeoutMs?: number;
  /** least time from the start of one read to the start of the next; default 2 s, never more than the interval */
  readonly minSpacingMs?: number;
}

/**
 * `controller_volumes_on_rds` and `controller_capacity_bytes{kind}`, never read at scrape time: a scrape
 * must not wait on SSH, and each Prometheus replica would add its own reads. The volumes are listed at
 * start and on a timer; in between, the count follows the controller's own creates and deletes, which the
 * RDS client has read back — a listing of every disk after each change cost the RDS more than the change
 * (at 1,000 volumes it set the tail latency of a burst of creates). The pool is read on the timer and
 * after changes, at most once per spacing. A failed read keeps the last values and is logged. Reads never
 * overlap: a change during a read asks for one more after it, so the last values set are the newest.
 */
export class RdsVolumeGauges implements VolumeGauges {
  readonly #options: RdsVolumeGaugesOptions;
  readonly #spacingMs: number;
  readonly #volumes: { set(value: number): void };
  readonly #capacity: { set(labels: { kind: "total" | "free" }, value: number): void };
  readonly #stopping = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  /** a read asked for and not begun yet; `listing` when the volumes are to be listed too */
  #asked: { listing: boolean } | undefined;
  #lastStartMs = Number.NEGATIVE_INFINITY;
  /** this driver's volumes as last listed, with the controller's own changes since; undefined before the first listing */
  #ids: Set<string> | undefined;
  /** changes told while a listing runs: at least as new as what it shows, so applied again on top of it */
  #changedDuringListing: Map<string, boolean> | undefined;

  constructor(options: RdsVolumeGaugesOptions) {
    this.#options = options;
    this.#spacingMs = Math.min(options.minSpacingMs ?? 2_000, options.intervalMs ?? 60_000);
    this.#volumes = options.metrics.gauge({
      name: "controller_volumes_on_rds",
      help: "volumes of this driver on the RDS: as last listed (periodically), with this controller's own creates and deletes since",
    });
    this.#capacity = options.metrics.gauge({
      name: "controller_capacity_bytes",
      help: "size (kind=total) and free space (kind=free) of the RDS pool the volumes live in, as last read (periodically and after changes)",
      labelNames: ["kind"],
    });
  }

  /** Lists and reads now and then every interval. */
  start(): void {
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.#options.intervalMs ?? 60_000);
  }

  changed(id: string, present: boolean): void {
    this.#changedDuringListing?.set(id, present);
    if (this.#ids) {
      applyChange(this.#ids, id, present);
      this.#volumes.set(this.#ids.size);
    }
    void this.#ask(false);
  }

  /** Lists the volumes and reads the pool, after the read in progress and spaced from it; never rejects. */
  refresh(): Promise<void> {
    return this.#ask(true);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#stopping.abort();
    await this.#running;
  }

  #ask(listing: boolean): Promise<void> {
    this.#asked = { listing: listing || (this.#asked?.listing ?? false) };
    this.#running ??= this.#readWhileAsked();
    return this.#running;
  }

  /**
   * A burst of creates changes the RDS faster than it is worth reading: every read asked for during a
   * read or within the spacing of the last one's start waits for the spacing and is made once for all.
   * A change after a quiet spell is still read at once, and the last read still comes after the last change.
   */
  async #readWhileAsked(): Promise<void> {
    try {
      while (this.#asked) {
        const wait = this.#lastStartMs + this.#spacingMs - performance.now();
        if (wait > 0) await abortableSleep(wait, this.#stopping.signal).catch(() => undefined);
        if (this.#stopping.signal.aborted) return;
        const { listing } = this.#asked;
        this.#asked = undefined;
        this.#lastStartMs = performance.now();
        await this.#read(listing);
      }
    } finally {
      // In the same step as the last look at #asked: a read asked for from now on starts a new loop.
      this.#running = undefined;
    }
  }

  async #read(listing: boolean): Promise<void> {
    const { rds, logger } = this.#options;
    if (listing) this.#changedDuringListing = new Map();
    try {
      const [volumes, capacity] = await withDeadline(this.#stopping.signal, this.#options.timeoutMs ?? 30_000, (signal) =>
        Promise.all([listing ? rds.listVolumes(signal) : undefined, rds.capacity(signal)]),
      );
      if (volumes) {
        const ids = new Set(volumes.map((volume) => volume.id));
        for (const [id, present] of this.#changedDuringListing ?? []) applyChange(ids, id, present);
        this.#ids = ids;
        this.#volumes.set(ids.size);
      }
      // Exact up to 8 PiB; a pool is far smaller.
      this.#capacity.set({ kind: "total" }, Number(capacity.totalBytes));
      this.#capacity.set({ kind: "free" }, Number(capacity.freeBytes));
    } catch (err) {
      logger.warn("cannot read the RDS for the volume and capacity gauges; keeping the last values", {
        error: err instanceof Error ? err.message : String(err),
      });
    } finally {
      if (listing) this.#changedDuringListing = undefined;
    }
  }
}

function applyChange(ids: Set<string>, id: string, present: boolean): void {
  if (present) ids.add(id);
  else ids.delete(id);
}
