import { handleWhen, retry, type RetryPolicy } from "cockatiel";
import {
  AlreadyExistsError,
  CsiError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { MetricsRegistry } from "../observability/metrics.js";
import { abortableSleep } from "../resilience/abortable-sleep.js";
import { exponentialBackoff } from "../resilience/backoff.js";
import { BoundedQueue } from "../resilience/bounded-queue.js";
import { SNAPSHOT_SLOT_PREFIX, VOLUME_SLOT_PREFIX, type VolumeLayout } from "../volume/volume-layout.js";
import { routerOsError } from "./classify-error.js";
import {
  addDisk,
  copyDisk,
  printDiskBySlot,
  printDisksUsingFile,
  printFile,
  printFileDisks,
  printFilesUnder,
  printPool,
  removeDisk,
  removeFile,
  resizeDisk,
  setAllowedHosts,
  type AddDiskArgs,
  type RouterOsCommand,
  type RouterOsVerb,
} from "./command-builder.js";
import { formatDiskComment, parseDiskComment } from "./disk-comment.js";
import { toDisk, toFile, toPool, type Disk } from "./disk-record.js";
import { readPrintOutput, type PrintOutput } from "./parse-print-detail.js";
import { printableExcerpt } from "./printable-excerpt.js";
import type {
  CopyObservation,
  CopyStrategy,
  CopyVolumeSpec,
  CreateVolumeSpec,
  RdsCapacity,
  RdsClient,
  RdsOrphanFile,
  RdsSnapshot,
  RdsVolume,
} from "./rds-client.js";
import type { SshConnectionState, SshTransport } from "./ssh-transport.js";

export interface RouterOsRdsClientOptions {
  readonly transport: SshTransport;
  readonly layout: VolumeLayout;
  readonly copyStrategy: CopyStrategy;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
  readonly timeouts?: { readonly readMs?: number; readonly mutateMs?: number; readonly copyMs?: number };
  /**
   * How a copy is watched until complete: the disk is read every `intervalMs`; a copy whose size has not
   * changed for `settleMs` at or above its source's size is finished (and grown if the RDS ignored the size).
   */
  readonly copyWatch?: { readonly intervalMs?: number; readonly settleMs?: number };
  /** Attempts in all (first try included) for transient failures, with jittered exponential waits. */
  readonly retry?: { readonly maxAttempts?: number; readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** Mutating commands outstanding at once; the RDS runs them one at a time either way. */
  readonly mutationWindow?: number;
  readonly now?: () => Date;
}

export const ROUTEROS_CLIENT_DEFAULTS = {
  timeouts: {
    readMs: 30_000,
    mutateMs: 60_000,
    // A copy may move the whole volume's data on a thick (XFS) pool.
    copyMs: 30 * 60_000,
  },
  retry: { maxAttempts: 4, initialDelayMs: 500, maxDelayMs: 5_000 },
  copyWatch: { intervalMs: 500, settleMs: 3_000 },
  mutationWindow: 2,
  // `print terse` of every file disk: ~1 KiB per disk, so 64 MiB leaves room for tens of thousands.
  listOutputBytes: 64 * 1024 * 1024,
} as const;

/** RouterOS's own default for `nvme-tcp-server-port`, used when the RDS leaves the field out. */
const ROUTEROS_DEFAULT_NVME_PORT = 4420;

/**
 * `RdsClient` over the RouterOS CLI. Commands come only from `command-builder.ts`, output is read only
 * by `parsePrintDetail` and the error classifier. Reads retry transient failures. Mutations go through a
 * small window per RDS (see BoundedQueue) and are read back; when a mutation's reply is lost (the
 * connection dropped, the deadline passed) the client reads the state back to learn whether it took
 * effect before trying again. Two mutations of the same volume never overlap: callers hold the volume's
 * operation lock.
 */
export class RouterOsRdsClient implements RdsClient {
  readonly copyStrategy: CopyStrategy;
  readonly #transport: SshTransport;
  readonly #layout: VolumeLayout;
  readonly #logger: Logger;
  readonly #timeouts: { readonly readMs: number; readonly mutateMs: number; readonly copyMs: number };
  readonly #retry: RetryPolicy;
  readonly #mutations: BoundedQueue;
  readonly #now: () => Date;
  readonly #copyWatch: { readonly intervalMs: number; readonly settleMs: number };
  readonly #observe: (verb: RouterOsVerb, outcome: string, seconds: number) => void;
  readonly #skipped: (reason: SkipReason) => void;

  constructor(options: RouterOsRdsClientOptions) {
    this.#transport = options.transport;
    this.#layout = options.layout;
    this.copyStrategy = options.copyStrategy;
    this.#logger = options.logger.child({ component: "routeros" });
    this.#timeouts = { ...ROUTEROS_CLIENT_DEFAULTS.timeouts, ...options.timeouts };
    const retryOptions = { ...ROUTEROS_CLIENT_DEFAULTS.retry, ...options.retry };
    // Only transient failures are retried: never AlreadyExists, InvalidArgument or ResourceExhausted.
    this.#retry = retry(
      handleWhen((err) => err instanceof UnavailableError),
      {
        maxAttempts: retryOptions.maxAttempts - 1,
        backoff: exponentialBackoff({ initialDelay: retryOptions.initialDelayMs, maxDelay: retryOptions.maxDelayMs, jitter: "decorrelated" }),
      },
    );
    this.#mutations = new BoundedQueue(options.mutationWindow ?? ROUTEROS_CLIENT_DEFAULTS.mutationWindow);
    this.#now = options.now ?? (() => new Date());
    this.#copyWatch = { ...ROUTEROS_CLIENT_DEFAULTS.copyWatch, ...options.copyWatch };
    this.#observe = commandMetrics(options.metrics);
    this.#skipped = skippedRecordsMetric(options.metrics);
  }

  get connectionState(): SshConnectionState {
    return this.#transport.state;
  }

  async createVolume(spec: CreateVolumeSpec, signal: AbortSignal, options: { readonly knownAbsent?: boolean } = {}): Promise<RdsVolume> {
    if (!options.knownAbsent) {
      const existing = await this.#disk(spec.id, signal);
      if (existing) return this.#matchingVolume(existing, spec);
    }
    await this.#create(addDisk(this.#volumeDisk(spec)), spec.id, signal);
    return this.#closedAsAsked(this.#matchingVolume(await this.#readBack(spec.id, signal), spec), spec, signal);
  }

  async copyVolume(spec: CopyVolumeSpec, signal: AbortSignal): Promise<RdsVolume & { readonly copy?: CopyObservation }> {
    const existing = await this.#disk(spec.id, signal);
    const source = await this.#disk(spec.sourceId, signal);
    const sourceOk = source !== undefined && (this.#isVolume(source) || this.#isSnapshot(source));
    const unfinished = existing && this.#isVolume(existing) ? this.#copyTarget(existing) : undefined;
    if (existing && !(unfinished && unfinished.sourceId === spec.sourceId && unfinished.sizeBytes === spec.sizeBytes)) {
      return this.#matchingVolume(existing, spec);
    }
    if (!source || !sourceOk) throw new NotFoundError(`source ${spec.sourceId} of volume ${spec.id} does not exist on the RDS`);
    const started = performance.now();
    if (!existing) {
      if (this.#copyIncomplete(source)) {
        throw new UnavailableError(`source ${spec.sourceId} of volume ${spec.id} is itself still being copied on the RDS; retry once it is complete`);
      }
      if (spec.sizeBytes < source.sizeBytes) {
        throw new InvalidArgumentError(
          `volume ${spec.id}: requested ${spec.sizeBytes} bytes is smaller than its source ${spec.sourceId} (${source.sizeBytes} bytes)`,
        );
      }
      const disk = { ...this.#volumeDisk(spec), comment: formatDiskComment({ kind: "volume", copy: { sourceId: spec.sourceId, sizeBytes: spec.sizeBytes } }) };
      await this.#create(copyDisk({ ...disk, sourceSlot: spec.sourceId }), spec.id, signal);
    }
    const { disk, copy } = await this.#awaitCopy(spec.id, source.sizeBytes, spec.sizeBytes, started, signal);
    return { ...(await this.#closedAsAsked(this.#matchingVolume(disk, spec), spec, signal)), copy };
  }

  async getVolume(id: string, signal: AbortSignal): Promise<RdsVolume | undefined> {
    const disk = await this.#disk(id, signal);
    return disk && this.#isVolume(disk) ? this.#toVolume(disk) : undefined;
  }

  async listVolumes(signal: AbortSignal): Promise<RdsVolume[]> {
    const disks = await this.#ownDisks(signal);
    return disks.filter((disk) => this.#isVolume(disk)).map((disk) => this.#toVolume(disk));
  }

  async resizeVolume(id: string, sizeBytes: bigint, signal: AbortSignal): Promise<RdsVolume> {
    const disk = await this.#disk(id, signal);
    if (!disk || !this.#isVolume(disk)) throw new NotFoundError(`volume ${id} does not exist on the RDS`);
    if (disk.sizeBytes >= sizeBytes) return this.#toVolume(disk);
    await busyAsSessions(id, "grow", this.#mutate(resizeDisk(id, sizeBytes), signal, async () => ((await this.#disk(id, signal))?.sizeBytes ?? 0n) >= sizeBytes));
    const resized = await this.#readBack(id, signal);
    if (resized.sizeBytes < sizeBytes) {
      throw new InternalError(`the RDS accepted growing ${id} to ${sizeBytes} bytes but reports ${resized.sizeBytes}`);
    }
    return this.#toVolume(resized);
  }

  async deleteVolume(id: string, signal: AbortSignal): Promise<void> {
    await this.#removeDiskAndFile(id, (disk) => this.#isVolume(disk), signal);
  }

  async setAllowedHosts(id: string, hostNqns: readonly string[], signal: AbortSignal): Promise<RdsVolume> {
    const disk = await this.#disk(id, signal);
    if (!disk || !this.#isVolume(disk)) throw new NotFoundError(`volume ${id} does not exist on the RDS`);
    const wanted = [...new Set(hostNqns)].sort();
    const matches = (current: Disk | undefined): boolean => sameList([...(current?.allowedHosts ?? [])].sort(), wanted);
    if (!matches(disk)) {
      await this.#mutate(setAllowedHosts(id, wanted), signal, async () => matches(await this.#disk(id, signal)));
    }
    const updated = await this.#readBack(id, signal);
    if (!matches(updated)) {
      throw new InternalError(`the RDS accepted the allowed hosts of ${id} but reports ${updated.allowedHosts.join(",") || "any host"}`);
    }
    return this.#toVolume(updated);
  }

  async capacity(signal: AbortSignal): Promise<RdsCapacity> {
    // Urgent: a create or grow waits for this reading before its mutation.
    const output = await this.#read(printPool(this.#layout.pool), signal, { urgent: true });
    // Only the record mounted at the pool counts; any other that matched (or could not be read) is skipped.
    const pool = this.#readable(output, toPool, "capacity").find((candidate) => candidate.mountPoint === this.#layout.pool);
    if (!pool) {
      throw new FailedPreconditionError(`the RDS has no disk mounted at "${this.#layout.pool}"; check the base path ${this.#layout.basePath}`);
    }
    return { totalBytes: pool.sizeBytes, freeBytes: pool.freeBytes };
  }

  async createSnapshot(spec: { id: string; sourceVolumeId: string }, signal: AbortSignal): Promise<RdsSnapshot> {
    const existing = await this.#disk(spec.id, signal);
    if (existing) {
      const snapshot = this.#isSnapshot(existing) ? this.#toSnapshot(existing) : undefined;
      if (snapshot?.sourceVolumeId === spec.sourceVolumeId) return snapshot;
      throw new AlreadyExistsError(
        `snapshot ${spec.id} already exists with source ${snapshot?.sourceVolumeId ?? "unknown"}, not ${spec.sourceVolumeId}`,
      );
    }
    const source = await this.getVolume(spec.sourceVolumeId, signal);
    if (!source) throw new NotFoundError(`source volume ${spec.sourceVolumeId} of snapshot ${spec.id} does not exist on the RDS`);
    if (source.copyInProgress) {
      throw new UnavailableError(`source volume ${spec.sourceVolumeId} of snapshot ${spec.id} is still being copied on the RDS; retry once it is complete`);
    }
    const started = performance.now();
    await this.#create(
      copyDisk({
        slot: spec.id,
        filePath: this.#layout.filePath(spec.id),
        sourceSlot: spec.sourceVolumeId,
        sizeBytes: source.sizeBytes,
        comment: formatDiskComment({
          kind: "snapshot",
          sourceVolumeId: spec.sourceVolumeId,
          sizeBytes: source.sizeBytes,
          createdAt: this.#now(),
          strategy: this.copyStrategy.name,
        }),
      }),
      spec.id,
      signal,
    );
    return this.#toSnapshot((await this.#awaitCopy(spec.id, source.sizeBytes, source.sizeBytes, started, signal)).disk);
  }

  async getSnapshot(id: string, signal: AbortSignal): Promise<RdsSnapshot | undefined> {
    const disk = await this.#disk(id, signal);
    return disk && this.#isSnapshot(disk) ? this.#toSnapshot(disk) : undefined;
  }

  async listSnapshots(signal: AbortSignal): Promise<RdsSnapshot[]> {
    const disks = await this.#ownDisks(signal);
    return disks.filter((disk) => this.#isSnapshot(disk)).map((disk) => this.#toSnapshot(disk));
  }

  async deleteSnapshot(id: string, signal: AbortSignal): Promise<void> {
    await this.#removeDiskAndFile(id, (disk) => this.#isSnapshot(disk), signal);
  }

  async listOrphanFiles(signal: AbortSignal): Promise<RdsOrphanFile[]> {
    // Files first: a volume created between the two reads then shows its disk, never as an orphan.
    const fileOutput = await this.#read(printFilesUnder(this.#layout.basePath), signal, { maxOutputBytes: ROUTEROS_CLIENT_DEFAULTS.listOutputBytes });
    const files = this.#readable(fileOutput, toFile, "orphan-audit").filter(
      (file) => file.type !== "directory" && this.#layout.holdsFile(file.path),
    );
    if (files.length === 0) return [];
    const diskOutput = await this.#read(printFileDisks(), signal, { maxOutputBytes: ROUTEROS_CLIENT_DEFAULTS.listOutputBytes });
    // Read straight from the records, not through toDisk: a disk with odd fields still uses its file.
    const used = new Set(diskOutput.records.flatMap((record) => record.fields.get("file-path") ?? []));
    // A record that cannot be read may still name a file (perhaps broken across lines): it keeps that file.
    const unreadable = diskOutput.unreadable.map((record) => record.text.replace(/\s+/g, ""));
    return files
      .filter((file) => !used.has(file.path) && !unreadable.some((text) => text.includes(file.path)))
      .map((file) => {
        const id = file.path.slice(this.#layout.basePath.length + 1).replace(/\.img$/, "");
        const named = this.#layout.filePath(id) === file.path && (id.startsWith(VOLUME_SLOT_PREFIX) || id.startsWith(SNAPSHOT_SLOT_PREFIX));
        return {
          path: file.path,
          ...(named ? { id } : {}),
          ...(file.approximateSizeBytes !== undefined ? { approximateSizeBytes: file.approximateSizeBytes } : {}),
        };
      });
  }

  // --- building blocks -------------------------------------------------------------------------

  /** The disk a volume is: its file under the base path, exported under its NQN, tagged as ours. */
  #volumeDisk(spec: CreateVolumeSpec): AddDiskArgs {
    return {
      slot: spec.id,
      filePath: this.#layout.filePath(spec.id),
      sizeBytes: spec.sizeBytes,
      export: { port: spec.port, nqn: this.#layout.nqn(spec.id), ...(spec.allowedHosts ? { allowedHosts: spec.allowedHosts } : {}) },
      comment: formatDiskComment({ kind: "volume" }),
    };
  }

  /**
   * Waits until a copy into `slot` is complete. RouterOS documents `copy-from` only as "ID of item to make
   * a copy from", so the client is safe under every reading the simulator models: the copy done when the
   * add returns; done in the background, the file growing (complete once it reaches the size asked for);
   * done with `file-size` ignored (the size settles at the source's and is then grown here). A copy below
   * its source's size is never complete, however long it stands still; past the copy deadline it is
   * UnavailableError, and the caller's retry waits again.
   */
  async #awaitCopy(
    slot: string,
    sourceBytes: bigint,
    wantedBytes: bigint,
    started: number,
    signal: AbortSignal,
  ): Promise<{ disk: Disk; copy: CopyObservation }> {
    let background = false;
    let last: bigint | undefined;
    let stableSince = performance.now();
    for (;;) {
      const disk = await this.#readBack(slot, signal);
      const now = performance.now();
      const observed = (sizeIgnored: boolean): CopyObservation => ({ background, sizeIgnored, completedAfterMs: Math.round(performance.now() - started) });
      if (disk.sizeBytes >= wantedBytes) return { disk, copy: observed(false) };
      if (disk.sizeBytes < sourceBytes || (last !== undefined && disk.sizeBytes !== last)) background = true;
      if (disk.sizeBytes !== last) {
        last = disk.sizeBytes;
        stableSince = now;
      } else if (disk.sizeBytes >= sourceBytes && now - stableSince >= this.#copyWatch.settleMs) {
        this.#logger.info("the RDS ignored the size of a copy; growing it", { volume_id: slot, size_bytes: String(disk.sizeBytes), wanted_bytes: String(wantedBytes) });
        await this.#mutate(resizeDisk(slot, wantedBytes), signal, async () => ((await this.#disk(slot, signal))?.sizeBytes ?? 0n) >= wantedBytes);
        const grown = await this.#readBack(slot, signal);
        if (grown.sizeBytes < wantedBytes) throw new InternalError(`the RDS accepted growing the copy ${slot} to ${wantedBytes} bytes but reports ${grown.sizeBytes}`);
        return { disk: grown, copy: observed(true) };
      }
      if (now - started >= this.#timeouts.copyMs) {
        throw new UnavailableError(`the copy into ${slot} is not complete after ${Math.round((now - started) / 1000)} s (${disk.sizeBytes} of ${wantedBytes} bytes); retry to keep waiting`);
      }
      await abortableSleep(this.#copyWatch.intervalMs, signal);
    }
  }

  /** The source and size a copy into this volume must reach, while it has not; undefined for a complete or plain volume. */
  #copyTarget(disk: Disk): { sourceId: string; sizeBytes: bigint } | undefined {
    const metadata = parseDiskComment(disk.comment);
    return metadata?.kind === "volume" && metadata.copy && disk.sizeBytes < metadata.copy.sizeBytes ? metadata.copy : undefined;
  }

  /** A volume or snapshot made by a copy that has not reached its size yet. */
  #copyIncomplete(disk: Disk): boolean {
    const metadata = parseDiskComment(disk.comment);
    if (metadata?.kind === "snapshot") return disk.sizeBytes < metadata.sizeBytes;
    return this.#copyTarget(disk) !== undefined;
  }

  /** Runs an add/copy; a lost reply or an "already exists" is settled by whether the slot now exists. */
  async #create(command: RouterOsCommand, slot: string, signal: AbortSignal): Promise<void> {
    try {
      await this.#mutate(command, signal, async () => (await this.#disk(slot, signal)) !== undefined);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      // Either another caller created the slot (we compare it next), or the file exists without a disk:
      // a half-finished delete or a disk removed by hand. That file may hold data, so it is not replaced.
      if ((await this.#disk(slot, signal)) === undefined) {
        throw new FailedPreconditionError(
          `backing file ${this.#layout.filePath(slot)} already exists on the RDS without a disk; remove it or re-create its disk by hand`,
          { cause: err },
        );
      }
    }
  }

  /**
   * Two steps, because RouterOS keeps a disk's file when the disk is removed (MikroTik manual, "Disks").
   * A delete that stopped between them (connection lost, controller restarted) left the file without a
   * disk; the retry then finds no disk and still removes the file, whose path follows from the id. A disk
   * in the slot that is not ours is left alone (for CSI the volume does not exist), and a file that some
   * disk uses (a disk added by hand on our path) is never removed.
   */
  async #removeDiskAndFile(id: string, ours: (disk: Disk) => boolean, signal: AbortSignal): Promise<void> {
    let disk = await this.#disk(id, signal);
    if (disk && !ours(disk)) {
      this.#logger.warn("not deleting a disk this driver does not manage", { volume_id: id, type: disk.type, path: disk.filePath ?? "none" });
      disk = undefined;
    }
    if (disk) {
      await busyAsSessions(id, "remove", this.#mutate(removeDisk(id), signal, async () => (await this.#disk(id, signal)) === undefined));
      if ((await this.#disk(id, signal)) !== undefined) {
        throw new InternalError(`the RDS accepted removing disk ${id} but still lists it`);
      }
    }
    const path = disk?.filePath ?? this.#layout.filePath(id);
    const fileExists = async (): Promise<boolean> => this.#strict(await this.#read(printFile(path), signal)).length > 0;
    if (!(await fileExists())) return;
    const users = await this.#read(printDisksUsingFile(path), signal);
    if (users.records.length + users.unreadable.length > 0) {
      this.#logger.warn("not removing a backing file that a disk uses", { volume_id: id, path });
      return;
    }
    await this.#mutate(removeFile(path), signal, async () => !(await fileExists()));
    if (await fileExists()) throw new InternalError(`the RDS accepted removing file ${path} but still lists it`);
  }

  /** The disk with this slot, read fresh; undefined when there is none. A record of it that cannot be read fails the caller. */
  async #disk(slot: string, signal: AbortSignal): Promise<Disk | undefined> {
    const records = this.#strict(await this.#read(printDiskBySlot(slot), signal));
    return records.map(toDisk).find((disk) => disk.slot === slot);
  }

  async #readBack(slot: string, signal: AbortSignal): Promise<Disk> {
    const disk = await this.#disk(slot, signal);
    if (!disk) throw new InternalError(`the RDS accepted creating ${slot} but does not list it`);
    return disk;
  }

  /**
   * This driver's volumes and snapshots among the file disks. A real RDS also lists the operator's own
   * file disks, disabled items and disks with missing or odd fields: each is skipped and counted, and one
   * that cannot be read never hides the others.
   */
  async #ownDisks(signal: AbortSignal): Promise<Disk[]> {
    const output = await this.#read(printFileDisks(), signal, { maxOutputBytes: ROUTEROS_CLIENT_DEFAULTS.listOutputBytes });
    return this.#readable(output, toDisk, "list").filter((disk) => {
      if (this.#isVolume(disk) || this.#isSnapshot(disk)) return true;
      this.#skipped("foreign");
      return false;
    });
  }

  /** The records `view` can read; every other one is logged and counted, never thrown. */
  #readable<T>(output: PrintOutput, view: (record: PrintOutput["records"][number]) => T, purpose: string): T[] {
    const skip = (index: number | undefined, reason: string): void => {
      this.#skipped("unreadable");
      this.#logger.warn("skipping a RouterOS record the driver cannot read", { purpose, record: index, reason: printableExcerpt(reason) });
    };
    for (const record of output.unreadable) skip(record.index, record.reason);
    return output.records.flatMap((record) => {
      try {
        return [view(record)];
      } catch (err) {
        if (!(err instanceof InternalError)) throw err;
        skip(record.index, err.message);
        return [];
      }
    });
  }

  /** For a read about one item: a record of it that cannot be read fails the operation. */
  #strict(output: PrintOutput): PrintOutput["records"] {
    const [unreadable] = output.unreadable;
    if (unreadable) throw new InternalError(unreadable.reason);
    return output.records;
  }

  async #read(command: RouterOsCommand, signal: AbortSignal, options: RunOptions = {}): Promise<PrintOutput> {
    const stdout = await this.#retry.execute(() => this.#run(command, signal, options), signal);
    return readPrintOutput(stdout);
  }

  /**
   * Within the mutation window. When the outcome is unknown (UnavailableError: reply lost, deadline passed),
   * `settled` reads the state back; only if the change is not there is the command sent again.
   */
  async #mutate(command: RouterOsCommand, signal: AbortSignal, settled: () => Promise<boolean>): Promise<void> {
    await this.#mutations.run(signal, () =>
      this.#retry.execute(async () => {
        try {
          await this.#run(command, signal);
        } catch (err) {
          if (!(err instanceof UnavailableError)) throw err;
          this.#logger.warn("outcome of a RouterOS command unknown; reading the state back", { verb: command.verb, error: err.message });
          if (await settled()) return;
          throw err;
        }
      }, signal),
    );
  }

  /** Mutations are always urgent (see SshRunOptions.urgent). */
  async #run(command: RouterOsCommand, signal: AbortSignal, { maxOutputBytes, urgent = false }: RunOptions = {}): Promise<string> {
    const timeoutMs =
      command.verb === "disk-copy" ? this.#timeouts.copyMs : command.mutates ? this.#timeouts.mutateMs : this.#timeouts.readMs;
    const started = performance.now();
    let outcome = "ok";
    try {
      const result = await this.#transport.run(command.text, { signal, timeoutMs, urgent: urgent || command.mutates, ...(maxOutputBytes ? { maxOutputBytes } : {}) });
      const error = routerOsError(result.stdout, result.stderr, result.exitCode, command.text);
      if (error) throw error;
      return result.stdout;
    } catch (err) {
      outcome = err instanceof CsiError ? outcomeLabel(err) : "cancelled";
      throw err;
    } finally {
      this.#observe(command.verb, outcome, (performance.now() - started) / 1000);
    }
  }

  // --- ownership and typed views -----------------------------------------------------------------

  #isVolume(disk: Disk): boolean {
    return disk.type === "file" && disk.slot.startsWith(VOLUME_SLOT_PREFIX) && this.#layout.holdsFile(disk.filePath);
  }

  #isSnapshot(disk: Disk): boolean {
    return disk.type === "file" && disk.slot.startsWith(SNAPSHOT_SLOT_PREFIX) && this.#layout.holdsFile(disk.filePath);
  }

  #toVolume(disk: Disk): RdsVolume {
    return {
      id: disk.slot,
      filePath: disk.filePath!,
      sizeBytes: disk.sizeBytes,
      nqn: disk.nqn ?? this.#layout.nqn(disk.slot),
      port: disk.nvmePort ?? ROUTEROS_DEFAULT_NVME_PORT,
      exported: disk.nvmeExport,
      allowedHosts: disk.allowedHosts,
      ...(this.#copyIncomplete(disk) ? { copyInProgress: true as const } : {}),
    };
  }

  #toSnapshot(disk: Disk): RdsSnapshot {
    const metadata = parseDiskComment(disk.comment);
    return {
      id: disk.slot,
      filePath: disk.filePath!,
      sizeBytes: disk.sizeBytes,
      ...(metadata?.kind === "snapshot"
        ? { sourceVolumeId: metadata.sourceVolumeId, createdAt: metadata.createdAt, strategy: metadata.strategy }
        : {}),
      ...(this.#copyIncomplete(disk) ? { copyInProgress: true as const } : {}),
    };
  }

  /**
   * A volume created admitting only named hosts must not read back admitting any host: an RDS that
   * ignored the allow-list of the `/disk add` left the export open to every host that reaches it. The
   * export is closed with `/disk set` (read back like every allow-list write) and the create still
   * fails, so the operator learns of the window; a retry then finds the closed volume.
   */
  async #closedAsAsked(volume: RdsVolume, spec: CreateVolumeSpec, signal: AbortSignal): Promise<RdsVolume> {
    if (!spec.allowedHosts?.length || volume.allowedHosts.length > 0) return volume;
    await this.setAllowedHosts(volume.id, spec.allowedHosts, signal);
    throw new InternalError(
      `the RDS created volume ${volume.id} with an export admitting any host although the add named ${spec.allowedHosts.join(",")}; the export was closed afterwards, so hosts could connect in between`,
    );
  }

  /** An existing slot answers a create only if it is our volume with the same size and port. */
  #matchingVolume(disk: Disk, spec: CreateVolumeSpec): RdsVolume {
    if (!this.#isVolume(disk)) {
      throw new AlreadyExistsError(`slot ${spec.id} is in use on the RDS by a disk this driver does not manage`);
    }
    const volume = this.#toVolume(disk);
    if (volume.sizeBytes !== spec.sizeBytes || volume.port !== spec.port) {
      throw new AlreadyExistsError(
        `volume ${spec.id} already exists with ${volume.sizeBytes} bytes on port ${volume.port}; requested ${spec.sizeBytes} bytes on port ${spec.port}`,
      );
    }
    return volume;
  }
}

/**
 * RouterOS may refuse to remove or resize a disk while NVMe/TCP hosts are connected to it (not
 * documented; the simulator's `diskBusy` mode). CSI names FAILED_PRECONDITION for a volume in use, for
 * DeleteVolume and ControllerExpandVolume alike, and the sidecars retry it with backoff; the message
 * says what holds the disk and what frees it, and keeps RouterOS's own words.
 */
async function busyAsSessions(id: string, action: "remove" | "grow", mutation: Promise<void>): Promise<void> {
  try {
    await mutation;
  } catch (err) {
    if (!(err instanceof FailedPreconditionError)) throw err;
    throw new FailedPreconditionError(
      `the RDS refuses to ${action} disk ${id} while NVMe/TCP sessions to it are live (${err.message}); ` +
        "retry once every node has disconnected it (NodeUnstageVolume, or a node that is gone timing out)",
      { cause: err },
    );
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

/** A bounded label from the error's class: `not_found`, `unavailable`, … */
function outcomeLabel(err: CsiError): string {
  return err.name.replace(/Error$/, "").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

type SkipReason = "unreadable" | "foreign";

interface RunOptions {
  readonly maxOutputBytes?: number;
  readonly urgent?: boolean;
}

function skippedRecordsMetric(metrics: MetricsRegistry | undefined): (reason: SkipReason) => void {
  if (!metrics) return () => undefined;
  const skipped = metrics.counter({
    name: "routeros_records_skipped_total",
    help: "RouterOS records a listing skipped: unreadable (the driver cannot read it) or foreign (not a volume or snapshot of this driver)",
    labelNames: ["reason"],
  });
  return (reason) => skipped.inc({ reason });
}

function commandMetrics(metrics: MetricsRegistry | undefined): (verb: RouterOsVerb, outcome: string, seconds: number) => void {
  if (!metrics) return () => undefined;
  const commands = metrics.counter({
    name: "routeros_commands_total",
    help: "RouterOS commands sent to the RDS, by verb and outcome",
    labelNames: ["verb", "outcome"],
  });
  const duration = metrics.histogram({
    name: "routeros_command_duration_seconds",
    help: "Time from sending a RouterOS command to its classified reply, by verb",
    labelNames: ["verb"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  return (verb, outcome, seconds) => {
    commands.inc({ verb, outcome });
    duration.observe({ verb }, seconds);
  };
}
