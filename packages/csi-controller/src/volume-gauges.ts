import { abortableSleep, withDeadline, type Logger, type MetricsRegistry } from "@rds-csi/core";
import { type RdsClient } from "@rds-csi/core/routeros";

/** Told after the controller changed the RDS's volumes or free space. Returns at once and never throws. */
export interface VolumeGauges {
  changed(): void;
}

export interface RdsVolumeGaugesOptions {
  readonly rds: RdsClient;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  /** how often the RDS is read when nothing changed; default 60 s */
  readonly intervalMs?: number;
  /** deadline of one read; default 30 s */
  readonly timeoutMs?: number;
  /** least time from the start of one read to the start of the next read asked for during it; default 2 s, never more than the interval */
  readonly minSpacingMs?: number;
}

/**
 * `controller_volumes_on_rds` and `controller_capacity_bytes{kind}`, read from the RDS on a timer and
 * after each change, never at scrape time: a scrape must not wait on SSH, and each Prometheus replica
 * would add its own reads. A failed read keeps the last values and is logged. Reads never overlap: a
 * change during a read asks for one more read after it, so the last values set are the newest.
 */
export class RdsVolumeGauges implements VolumeGauges {
  readonly #options: RdsVolumeGaugesOptions;
  readonly #volumes: { set(value: number): void };
  readonly #capacity: { set(labels: { kind: "total" | "free" }, value: number): void };
  readonly #stopping = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(options: RdsVolumeGaugesOptions) {
    this.#options = options;
    this.#volumes = options.metrics.gauge({
      name: "controller_volumes_on_rds",
      help: "volumes of this driver on the RDS, as last read (periodically and after each create, delete and expand)",
    });
    this.#capacity = options.metrics.gauge({
      name: "controller_capacity_bytes",
      help: "size (kind=total) and free space (kind=free) of the RDS pool the volumes live in, as last read",
      labelNames: ["kind"],
    });
  }

  /** Reads now and then every interval. */
  start(): void {
    this.changed();
    this.#timer = setInterval(() => this.changed(), this.#options.intervalMs ?? 60_000);
  }

  changed(): void {
    void this.refresh();
  }

  /** Reads the RDS, or joins the read in progress and asks for one more; never rejects. */
  refresh(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#readUntilCurrent().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#stopping.abort();
    await this.#running;
  }

  /**
   * A burst of creates changes the RDS faster than it can be listed: reading again as soon as a read
   * ends would keep a listing of every disk running for the whole burst (at 1,000 volumes it dominated
   * the controller benchmark). The read asked for during a read is therefore spaced from it; a change
   * after a quiet spell is still read at once, and the last read still comes after the last change.
   */
  async #readUntilCurrent(): Promise<void> {
    const spacingMs = Math.min(this.#options.minSpacingMs ?? 2_000, this.#options.intervalMs ?? 60_000);
    for (;;) {
      this.#again = false;
      const startedAt = performance.now();
      await this.#read();
      if (!this.#again) return;
      const wait = startedAt + spacingMs - performance.now();
      if (wait > 0) await abortableSleep(wait, this.#stopping.signal).catch(() => undefined);
      if (this.#stopping.signal.aborted) return;
    }
  }

  async #read(): Promise<void> {
    const { rds, logger } = this.#options;
    try {
      const [volumes, capacity] = await withDeadline(this.#stopping.signal, this.#options.timeoutMs ?? 30_000, (signal) =>
        Promise.all([rds.listVolumes(signal), rds.capacity(signal)]),
      );
      this.#volumes.set(volumes.length);
      // Exact up to 8 PiB; a pool is far smaller.
      this.#capacity.set({ kind: "total" }, Number(capacity.totalBytes));
      this.#capacity.set({ kind: "free" }, Number(capacity.freeBytes));
    } catch (err) {
      logger.warn("cannot read the RDS for the volume and capacity gauges; keeping the last values", {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
