import { abortableSleep, AbortedError, Backoff, withDeadline, type Logger } from "@rds-csi/core";
import { disconnectIfUnused } from "./disconnect-if-unused.js";
import type { KeptController } from "./kept-controllers.js";
import type { NodeContext } from "./node-context.js";
import { readStagingMetadata, readStagingMetadataFile, type StagingMetadata } from "./staging/staging-metadata.js";
import { controllerLost, HostIdentityMismatchError, reconnectLostController, ReconnectFailedError, VolumeMovedError } from "./reconnect-lost-controller.js";
import { OldDeviceAliveError, recoverStaleStaging, UuidMismatchError } from "./stale-mount-recovery.js";
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
  /** Longest pause between reconnect attempts of a volume whose controller is gone (rounded to sweeps). Default 5 min. */
  readonly reconnectBackoffCapMs?: number;
}

/** What a sweep did with one staged volume. */
export type SweepOutcome =
  | "current" // nothing stale
  | "recovered"
  | "busy" // an RPC holds the volume's lock; it owns the volume now, the next sweep looks again
  | "stopped" // stop() cut the sweep short; a recovery in flight goes on to its end, and stop() waits for it
  | "failed" // recovery failed; retried on a later sweep
  | "backoff" // skipped: failed recently
  | "refused" // the namespace's UUID (or this node's host NQN) is not the staged one; never retried for this device
  | "gave-up" // failed maxFailures times for this device; not retried until the device changes again
  | "waiting" // the old device still exists, so nothing was moved; looked at again every sweep, never given up
  | "unstaging" // a NodeUnstage began and has not finished: kubelet retries it; nothing is reconnected or remounted
  | "unreachable"; // the controller is gone and reconnecting failed; retried with capped backoff while staged

export interface SweepReport {
  readonly volumeId: string;
  readonly stagingPath: string;
  readonly outcome: SweepOutcome;
}

/** Per volume: the stale device being recovered, and how that went so far. */
interface Attempts {
  readonly device: string;
  /** in sweeps: 1, 2, 4 … between tries */
  readonly backoff: Backoff;
  /** sweeps still to skip */
  skip: number;
  done: boolean;
  /** the last run found the old device still present (logged once, not every sweep) */
  waiting: boolean;
}

/** Per volume whose controller is gone: how reconnecting went so far. */
interface Outage {
  /** ms since the epoch, when the watcher first saw it */
  readonly since: number;
  /** in sweeps: 1, 2, 4 … between tries, up to the cap */
  readonly backoff: Backoff;
  /** sweeps still to skip */
  skip: number;
  /** the last failure's message: logged again only when it changes */
  lastError?: string;
  /** this node's host NQN is not the staged one: never reconnected while the plugin runs */
  refused: boolean;
}

/**
 * Kubelet never re-stages a volume that is already staged, so after a reconnect that renumbered the
 * controller or replaced the device, nothing would move the staging mount and the pods' targets off the
 * dead device. This watcher does, without any RPC: every interval it reads the staging metadata files,
 * and for each volume whose NQN now resolves (by identity) to another device than the recorded one it
 * takes the volume lock — skipping the volume when an RPC holds it — and runs recoverStaleStaging, the
 * same code a retried NodeStage runs. Failures back off per volume (1, 2, 4 … sweeps) and stop after
 * `maxFailures` for that device; the volume condition keeps saying what is wrong meanwhile. While the
 * old device still exists nothing is moved ("waiting"): that is no failure, and it is looked at again
 * every sweep until the device is gone.
 *
 * A volume whose controller is gone altogether (the kernel deleted it once `ctrl_loss_tmo` expired) is
 * connected again first (reconnectLostController), then recovered the same way. An unreachable RDS is
 * not a broken volume: those reconnects back off up to `reconnectBackoffCapMs` and never give up while
 * the volume is staged, and are logged when the situation changes, not at every attempt.
 *
 * A volume whose metadata says it is being unstaged (a NodeUnstage failed or died after it began) is
 * left alone: its unmount or disconnect may be half done and kubelet retries the unstage, so bringing
 * it back would only churn connections, and could attach an RWO volume that is already moving to
 * another node. Only a NodeStage, which clears the mark, makes it the watcher's again.
 *
 * Each sweep ends with the controllers an unstage had to keep connected because their device was still
 * in use (ctx.keptControllers): disconnected once the same rule finds them unused (#sweepKeptControllers).
 */
export class StaleMountWatcher {
  readonly #options: StaleMountWatcherOptions;
  readonly #attempts = new Map<string, Attempts>();
  readonly #outages = new Map<string, Outage>();
  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;
  /**
   * Recoveries and reconnects still running. The volume lock lets go of one as soon as its signal
   * aborts (OperationLocks.run), but the work goes on to the end of its current step, changing mounts.
   */
  readonly #running = new Set<Promise<unknown>>();

  constructor(options: StaleMountWatcherOptions) {
    this.#options = options;
  }

  /** Sweeps every interval until stop(). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /**
   * Ends the loop: an ongoing sweep is aborted (its recovery sees the abort) and awaited, and so is the
   * recovery itself: the plugin must not exit, nor a test look, while it is still moving mounts.
   */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    await Promise.allSettled(this.#running);
  }

  /**
   * One pass over the staged volumes, then over the controllers unstages kept (reported through the
   * log and `node_kept_controller_disconnects_total`); never throws.
   */
  async sweep(): Promise<SweepReport[]> {
    const reports = await this.#sweepStaged();
    await this.#sweepKeptControllers();
    return reports;
  }

  async #sweepStaged(): Promise<SweepReport[]> {
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
    // Forget what was unstaged (the scan is complete, unless shutdown cut the loop short).
    if (!this.#stopping.signal.aborted) {
      const seen = new Set(staged.map((s) => s.metadata.volumeId));
      for (const map of [this.#attempts, this.#outages]) for (const id of map.keys()) if (!seen.has(id)) map.delete(id);
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
    const mountPoints = new Set((await ctx.mounter.mountTable()).map((m) => m.mountPoint));
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
    // Cheap looks without the lock; recovery looks again under it.
    if (metadata.unstagingSince !== undefined) {
      this.#attempts.delete(volumeId);
      this.#outages.delete(volumeId);
      return "unstaging";
    }
    if (controllerLost(await ctx.initiator.controllers(metadata.nqn))) return this.#reconnect(metadata, stagingPath);
    if (this.#outages.delete(volumeId)) logger.info("stale-mount watcher: the volume's NVMe controller is back", { volume_id: volumeId });
    const current = await ctx.resolver.resolve(metadata.nqn, metadata.device.nsid);
    if (current === undefined || current.majorMinor === metadata.device.majorMinor) {
      this.#attempts.delete(volumeId);
      return "current";
    }
    let attempts = this.#attempts.get(volumeId);
    if (attempts === undefined || attempts.device !== current.majorMinor) {
      attempts = { device: current.majorMinor, backoff: this.#recoveryBackoff(), skip: 0, done: false, waiting: false };
      this.#attempts.set(volumeId, attempts);
    }
    if (attempts.done) return attempts.backoff.failures >= this.#maxFailures ? "gave-up" : "refused";
    if (attempts.skip > 0) {
      attempts.skip--;
      return "backoff";
    }

    const log = logger.child({ volume_id: volumeId });
    try {
      const recovered = await this.#underLock(volumeId, stagingPath, (now, signal) => recoverStaleStaging(ctx, now, stagingPath, signal));
      this.#attempts.delete(volumeId);
      if (recovered === "unstaging") return "unstaging";
      if (recovered === "unstaged" || recovered === undefined) return "current";
      log.info("stale-mount watcher: volume moved onto its namespace's current device", { stagingPath, device: recovered.devicePath, majorMinor: recovered.majorMinor });
      return "recovered";
    } catch (err) {
      if (err instanceof AbortedError) return "busy";
      if (this.#stopping.signal.aborted) return "stopped"; // the abort, not a failure: nothing to back off or log
      if (err instanceof OldDeviceAliveError) {
        // Not a failure: the old device may still go away (its controller deleted), and until then
        // its mounts work. Every sweep looks again; the volume condition says why nothing moved.
        if (!attempts.waiting) log.warn("stale-mount watcher: not recovering while the old device exists; looking again every sweep", { error: err.message });
        attempts.waiting = true;
        return "waiting";
      }
      if (err instanceof UuidMismatchError) {
        attempts.done = true;
        log.error("stale-mount watcher: refusing to recover; the NQN now resolves to another namespace", { error: err.message });
        return "refused";
      }
      attempts.skip = attempts.backoff.next() - 1;
      attempts.done = attempts.backoff.failures >= this.#maxFailures;
      log.warn(attempts.done ? "stale-mount watcher: recovery failed; giving up on this device" : "stale-mount watcher: recovery failed; will retry", {
        error: String(err),
        failures: attempts.backoff.failures,
      });
      return "failed";
    }
  }

  /**
   * The controller is gone: reconnect and recover under the volume lock. Reconnect failures back off
   * 1, 2, 4 … sweeps up to the cap and are retried for as long as the volume stays staged.
   */
  async #reconnect(metadata: StagingMetadata, stagingPath: string): Promise<SweepOutcome> {
    const { ctx, logger } = this.#options;
    const volumeId = metadata.volumeId;
    const log = logger.child({ volume_id: volumeId });
    let outage = this.#outages.get(volumeId);
    if (outage === undefined) {
      outage = { since: Date.now(), backoff: new Backoff({ initialDelay: 1, maxDelay: this.#backoffCapSweeps + 1, jitter: "none" }), skip: 0, refused: false };
      this.#outages.set(volumeId, outage);
      log.warn("stale-mount watcher: the volume's NVMe controller is gone (the kernel gave up on it); reconnecting", {
        nqn: metadata.nqn,
        address: `${metadata.address}:${metadata.port}`,
      });
    }
    if (outage.refused) return "refused";
    if (outage.skip > 0) {
      outage.skip--;
      return "backoff";
    }
    try {
      const done = await this.#underLock(volumeId, stagingPath, async (now, signal) => ({
        reconnected: await reconnectLostController(ctx, now, signal),
        moved: await recoverStaleStaging(ctx, now, stagingPath, signal),
      }));
      this.#outages.delete(volumeId);
      if (done === "unstaging") return "unstaging";
      if (done === "unstaged") return "current";
      log.info("stale-mount watcher: reconnected the volume's controller and recovered its mounts", {
        failedAttempts: outage.backoff.failures,
        outageSeconds: Math.round((Date.now() - outage.since) / 1000),
        device: done.moved?.devicePath ?? done.reconnected?.devicePath,
        moved: done.moved !== undefined,
      });
      return "recovered";
    } catch (err) {
      if (err instanceof AbortedError) return "busy";
      if (this.#stopping.signal.aborted) return "stopped"; // the abort, not a failure: nothing to back off or log
      if (err instanceof HostIdentityMismatchError || err instanceof VolumeMovedError) {
        outage.refused = true;
        log.error("stale-mount watcher: refusing to reconnect", { error: err.message });
        return "refused";
      }
      if (err instanceof UuidMismatchError) {
        // Connected, but another namespace answers at this NQN: left connected (it is this volume's
        // subsystem; unstage disconnects it), never mounted, and not tried again for that device.
        this.#outages.delete(volumeId);
        this.#attempts.set(volumeId, { device: err.majorMinor, backoff: this.#recoveryBackoff(), skip: 0, done: true, waiting: false });
        log.error("stale-mount watcher: refusing to recover after reconnecting; the NQN now resolves to another namespace", { error: err.message });
        return "refused";
      }
      if (err instanceof OldDeviceAliveError) {
        // Connected, but the old device is still there: the next sweeps wait for it as for a renumbered device.
        this.#outages.delete(volumeId);
        log.warn("stale-mount watcher: reconnected, but not recovering while the old device exists", { error: err.message });
        return "waiting";
      }
      if (err instanceof ReconnectFailedError) {
        outage.skip = outage.backoff.next() - 1;
        const message = err.message;
        const changed = message !== outage.lastError;
        outage.lastError = message;
        const fields = { error: message, failures: outage.backoff.failures, sweepsToSkip: outage.skip };
        const line = "stale-mount watcher: reconnect failed; retrying with backoff while the volume is staged";
        if (changed) log.warn(line, fields);
        else log.debug(line, fields);
        return "unreachable";
      }
      // Reconnected, but moving the mounts failed: the controller is back, so the next sweeps treat it
      // as a stale device (bounded retries, then the volume condition).
      this.#outages.delete(volumeId);
      log.warn("stale-mount watcher: reconnected, but recovering the mounts failed; will retry", { error: String(err) });
      return "failed";
    }
  }

  /**
   * Controllers that disconnectIfUnused kept while something used the device (a holder, an exclusive
   * open, a mount in a container's namespace: often gone a moment later). NodeUnstage answered OK, so no
   * RPC comes back for them: each is asked again, through the same rule, under the lock of the volume
   * that kept it — a NodeStage of that volume, which connects before it records the volume as staged,
   * holds that lock, and the controller is then skipped. One that is staged again belongs to that
   * staging (its unstage decides); one the kernel removed is forgotten.
   */
  async #sweepKeptControllers(): Promise<void> {
    const { ctx, logger } = this.#options;
    for (const kept of ctx.keptControllers.list()) {
      if (this.#stopping.signal.aborted) return;
      const log = logger.child({ volume_id: kept.volumeId });
      try {
        await withDeadline(this.#stopping.signal, this.#timeoutMs, (deadline) =>
          ctx.locks.run(kept.volumeId, deadline, (signal) => this.#tracked(this.#disconnectKept(kept, signal, log))),
        );
      } catch (err) {
        if (err instanceof AbortedError || this.#stopping.signal.aborted) continue; // busy, or shutting down
        log.warn("stale-mount watcher: cannot disconnect a controller kept at unstage; will retry", { nqn: kept.nqn, error: String(err) });
      }
    }
  }

  async #disconnectKept(kept: KeptController, signal: AbortSignal, log: Logger): Promise<void> {
    const { ctx } = this.#options;
    const { nqn } = kept;
    if (ctx.staged.list().some((v) => v.nqn === nqn) || (await ctx.initiator.controllers(nqn)).length === 0) {
      ctx.keptControllers.forget(nqn);
      return;
    }
    const decision = await disconnectIfUnused(ctx, kept.volumeId, nqn, signal, log);
    if (!decision.disconnect) return;
    ctx.staleMounts?.keptControllerDisconnected();
    log.info("stale-mount watcher: disconnected a controller kept at unstage; nothing uses it any more", { nqn, keptBecause: kept.reason });
  }

  /**
   * Runs `work` on the metadata recorded now, under the volume lock, with the watcher's deadline;
   * "unstaged" or "unstaging" instead when a NodeUnstage finished or began since the scan.
   */
  async #underLock<T extends object | undefined>(
    volumeId: string,
    stagingPath: string,
    work: (metadata: StagingMetadata, signal: AbortSignal) => Promise<T>,
  ): Promise<T | "unstaged" | "unstaging"> {
    const { ctx } = this.#options;
    return withDeadline(this.#stopping.signal, this.#timeoutMs, (deadline) =>
      ctx.locks.run(volumeId, deadline, async (signal) => {
        // Unstaged (or restaged) since the scan: act only on what is recorded now.
        const now = await readStagingMetadata(stagingPath, volumeId);
        if (now === undefined) return "unstaged";
        return now.unstagingSince === undefined ? this.#tracked(work(now, signal)) : "unstaging";
      }),
    );
  }

  /** `work`, known to stop() until it settles, however the lock and the sweep gave up on it. */
  #tracked<T>(work: Promise<T>): Promise<T> {
    this.#running.add(work);
    const forget = (): void => void this.#running.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Recovery of a stale device is tried at most maxFailures times, 1, 2, 4 … sweeps apart. */
  #recoveryBackoff(): Backoff {
    return new Backoff({ initialDelay: 1, maxDelay: Math.max(1, 2 ** (this.#maxFailures - 1)), jitter: "none" });
  }

  get #maxFailures(): number {
    return this.#options.maxFailures ?? 5;
  }

  get #backoffCapSweeps(): number {
    const cap = this.#options.reconnectBackoffCapMs ?? 300_000;
    return Math.max(1, Math.floor(cap / Math.max(this.#options.intervalMs, 1)));
  }
}
