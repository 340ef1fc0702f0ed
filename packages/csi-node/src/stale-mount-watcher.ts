import { abortableSleep, AbortedError, withDeadline, type Logger } from "@rds-csi/core";
import type { NodeContext } from "./node-context.js";
import { readStagingMetadata, readStagingMetadataFile, type StagingMetadata } from "./staging/staging-metadata.js";
import { recoverStaleStaging, UuidMismatchError } from "./stale-mount-recovery.js";
import { findMetadataFiles, METADATA_SCAN_DEPTH } from "./startup-reconciliation.js";

export interface StaleMountWatcherOptions {
  readonly ctx: NodeContext;
  /** Directories scanned for staging metadata files (the kubelet's CSI plugin directory). */
  readonly metadataRoots: readonly string[];
  readonly logger: Logger;
  /** Pause between sweeps. */
  readonly intervalMs: number;
  /** Deadline of one sweep's scan, and of one volume's recovery (lock wait excluded: a busy volume is skipped). Default 120 s. */
  readonly timeoutMs?: number;
  /** Failed recoveries of one stale device before the watcher leaves it to the volume condition. Default 5. */
  readonly maxFailures?: number;
}

/** What a sweep did with one staged volume. */
export type SweepOutcome =
  | "current" // nothing stale
  | "recovered"
  | "busy" // an RPC holds the volume's lock; it owns the volume now, the next sweep looks again
  | "failed" // recovery failed; retried on a later sweep
  | "backoff" // skipped: failed recently
  | "refused" // the namespace's UUID is not the staged one; never retried for this device
  | "gave-up"; // failed maxFailures times for this device; not retried until the device changes again

export interface SweepReport {
  readonly volumeId: string;
  readonly stagingPath: string;
  readonly outcome: SweepOutcome;
}

/** Per volume: the stale device being recovered, and how that went so far. */
interface Attempts {
  readonly device: string;
  failures: number;
  /** sweeps still to skip */
  skip: number;
  done: boolean;
}

/**
 * Kubelet never re-stages a volume that is already staged, so after a reconnect that renumbered the
 * controller or replaced the device, nothing would move the staging mount and the pods' targets off the
 * dead device. This watcher does, without any RPC: every interval it reads the staging metadata files,
 * and for each volume whose NQN now resolves (by identity) to another device than the recorded one it
 * takes the volume lock — skipping the volume when an RPC holds it — and runs recoverStaleStaging, the
 * same code a retried NodeStage runs. Failures back off per volume (1, 2, 4 … sweeps) and stop after
 * `maxFailures` for that device; the volume condition keeps saying what is wrong meanwhile.
 */
export class StaleMountWatcher {
  readonly #options: StaleMountWatcherOptions;
  readonly #attempts = new Map<string, Attempts>();
  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(options: StaleMountWatcherOptions) {
    this.#options = options;
  }

  /** Sweeps every interval until stop(). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Ends the loop: an ongoing sweep is aborted (its recovery sees the abort) and awaited. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
  }

  /** One pass over the staged volumes; never throws. */
  async sweep(): Promise<SweepReport[]> {
    const { logger } = this.#options;
    const reports: SweepReport[] = [];
    let staged: { metadata: StagingMetadata; stagingPath: string }[];
    try {
      staged = await withDeadline(this.#stopping.signal, this.#timeoutMs, (signal) => this.#scan(signal));
    } catch (err) {
      if (!this.#stopping.signal.aborted) logger.warn("stale-mount watcher: cannot scan the staging metadata", { error: String(err) });
      return reports;
    }
    for (const { metadata, stagingPath } of staged) {
      if (this.#stopping.signal.aborted) break;
      const outcome = await this.#check(metadata, stagingPath).catch((err: unknown) => {
        logger.warn("stale-mount watcher: cannot check the volume", { volume_id: metadata.volumeId, error: String(err) });
        return "failed" as const;
      });
      reports.push({ volumeId: metadata.volumeId, stagingPath, outcome });
    }
    return reports;
  }

  get #timeoutMs(): number {
    return this.#options.timeoutMs ?? 120_000;
  }

  async #run(): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      await this.sweep();
      await abortableSleep(this.#options.intervalMs, signal).catch(() => undefined);
    }
  }

  async #scan(signal: AbortSignal): Promise<{ metadata: StagingMetadata; stagingPath: string }[]> {
    const { ctx, logger, metadataRoots } = this.#options;
    const mountPoints = new Set((await ctx.mountTable()).map((m) => m.mountPoint));
    const files: string[] = [];
    for (const root of metadataRoots) await findMetadataFiles(root, METADATA_SCAN_DEPTH, mountPoints, files, signal);
    const staged: { metadata: StagingMetadata; stagingPath: string }[] = [];
    for (const file of files) {
      try {
        const found = await readStagingMetadataFile(file);
        if (found !== undefined) staged.push(found);
      } catch (err) {
        logger.warn("stale-mount watcher: staging metadata cannot be trusted; volume skipped", { path: file, error: String(err) });
      }
    }
    return staged;
  }

  async #check(metadata: StagingMetadata, stagingPath: string): Promise<SweepOutcome> {
    const { ctx, logger } = this.#options;
    const volumeId = metadata.volumeId;
    // Cheap look without the lock; recovery looks again under it.
    const current = await ctx.resolver.resolve(metadata.nqn, metadata.device.nsid);
    if (current === undefined || current.majorMinor === metadata.device.majorMinor) {
      this.#attempts.delete(volumeId);
      return "current";
    }
    let attempts = this.#attempts.get(volumeId);
    if (attempts === undefined || attempts.device !== current.majorMinor) {
      attempts = { device: current.majorMinor, failures: 0, skip: 0, done: false };
      this.#attempts.set(volumeId, attempts);
    }
    if (attempts.done) return attempts.failures >= this.#maxFailures ? "gave-up" : "refused";
    if (attempts.skip > 0) {
      attempts.skip--;
      return "backoff";
    }

    const log = logger.child({ volume_id: volumeId });
    try {
      const recovered = await withDeadline(this.#stopping.signal, this.#timeoutMs, (deadline) =>
        ctx.locks.run(volumeId, deadline, async (signal) => {
          // Unstaged (or restaged) since the scan: act only on what is recorded now.
          const now = await readStagingMetadata(stagingPath, volumeId);
          return now === undefined ? undefined : recoverStaleStaging(ctx, now, stagingPath, signal);
        }),
      );
      this.#attempts.delete(volumeId);
      if (recovered === undefined) return "current";
      log.info("stale-mount watcher: volume moved onto its namespace's current device", { stagingPath, device: recovered.devicePath, majorMinor: recovered.majorMinor });
      return "recovered";
    } catch (err) {
      if (err instanceof AbortedError) return "busy";
      if (err instanceof UuidMismatchError) {
        attempts.done = true;
        log.error("stale-mount watcher: refusing to recover; the NQN now resolves to another namespace", { error: err.message });
        return "refused";
      }
      attempts.failures++;
      attempts.skip = 2 ** (attempts.failures - 1) - 1;
      attempts.done = attempts.failures >= this.#maxFailures;
      log.warn(attempts.done ? "stale-mount watcher: recovery failed; giving up on this device" : "stale-mount watcher: recovery failed; will retry", {
        error: String(err),
        failures: attempts.failures,
      });
      return "failed";
    }
  }

  get #maxFailures(): number {
    return this.#options.maxFailures ?? 5;
  }
}
