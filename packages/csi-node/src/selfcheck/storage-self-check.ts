import { randomBytes, randomUUID } from "node:crypto";
import type { CopyObservation, RdsClient, RdsVolume } from "@rds-csi/core/routeros";
import type { DeviceIdentity, DeviceResolver } from "../nvme/device-identity.js";
import type { HostIdentity } from "../nvme/host-identity.js";
import type { NvmeInitiator } from "../nvme/nvme-initiator.js";
import type { PatternIo } from "./pattern-io.js";
import { isStaleScratch, scratchNames, type ScratchNames } from "./scratch-names.js";
import { errorText, StepLog, type StepRecord } from "./step-log.js";
import { adviseSettings, judgeCopy, type CopyVerdict, type LiveConnectionVerdict, type NewConnectionVerdict, type SettingAdvice, type Verdicts } from "./verdicts.js";

export interface SelfCheckTimeouts {
  /** one RDS operation (create, snapshot bookkeeping, allow-list, delete) */
  readonly rdsMs: number;
  /** one copy on the RDS (snapshot, restore, clone): it may move the whole scratch volume */
  readonly copyMs: number;
  /** nvme connect plus the wait for the namespace */
  readonly attachMs: number;
  /** writing or reading the pattern */
  readonly ioMs: number;
  /** how long a live connection is watched after its host was removed from the allow-list */
  readonly dropWaitMs: number;
}

export interface SelfCheckOptions {
  readonly rds: RdsClient;
  readonly initiator: NvmeInitiator;
  readonly resolver: Pick<DeviceResolver, "waitForNamespace">;
  readonly io: PatternIo;
  readonly host: HostIdentity;
  /** where this node reaches the RDS's NVMe/TCP exports */
  readonly nvme: { readonly address: string; readonly port: number };
  /** size of the scratch volume and of the pattern written over all of it */
  readonly sizeBytes: number;
  readonly timeouts: SelfCheckTimeouts;
  /** longest a run can last; older scratch objects of other hosts are leftovers */
  readonly maxRunMs: number;
  readonly onStep?: (record: StepRecord) => void;
  readonly now?: () => Date;
}

export interface SelfCheckReport {
  readonly hostNqn: string;
  readonly strategy: string;
  readonly steps: readonly StepRecord[];
  /** absent when the check could not run far enough to judge anything; `problem` says why */
  readonly verdicts?: Verdicts;
  readonly advice: readonly SettingAdvice[];
  readonly problem?: string;
  /** scratch objects this run could not remove (the next run removes them) */
  readonly leftovers: readonly string[];
}

/** The kernel gives up a lost scratch controller after this long, so none lingers if clean-up fails. */
const CTRL_LOSS_TMO_S = 30;
const RECONNECT_DELAY_S = 2;
const KEEP_ALIVE_TMO_S = 5;
const DROP_POLL_MS = 100;
const RESTORE_GROWTH_BYTES = 1024n * 1024n;

/**
 * The storage self-check: proves on the operator's own RDS whether `copy-from` copies data (through a
 * snapshot and its restore, and through a clone) and whether the export allow-list refuses new
 * connections and drops live ones. It touches only scratch objects it made (see scratch-names.ts) and
 * removes them whatever happens, including on abort.
 */
export class StorageSelfCheck {
  readonly #o: SelfCheckOptions;
  readonly #now: () => Date;
  /**
   * What may exist on the RDS or the fabric because of this run, for clean-up. An id is noted before
   * its create is sent: a create whose reply was lost may still have taken effect, and deleting what
   * does not exist succeeds.
   */
  readonly #volumes = new Set<string>();
  readonly #snapshots = new Set<string>();
  readonly #connected = new Set<string>();

  constructor(options: SelfCheckOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
  }

  async run(stopping: AbortSignal): Promise<SelfCheckReport> {
    const names = scratchNames(this.#o.host.hostNqn, this.#now());
    const steps = new StepLog(stopping, this.#o.onStep);
    const strategy = this.#o.rds.copyStrategy.name;
    let verdicts: Verdicts | undefined;
    let problem: string | undefined;
    try {
      verdicts = await this.#check(steps, names, stopping);
    } catch (err) {
      problem = stopping.aborted ? `interrupted: ${errorText(stopping.reason)}` : errorText(err);
    } finally {
      await this.#cleanUp(steps);
    }
    return {
      hostNqn: this.#o.host.hostNqn,
      strategy,
      steps: steps.records,
      ...(verdicts ? { verdicts } : {}),
      advice: verdicts ? adviseSettings(verdicts) : [],
      ...(problem !== undefined ? { problem } : {}),
      leftovers: this.#leftovers(),
    };
  }

  async #check(steps: StepLog, names: ScratchNames, stopping: AbortSignal): Promise<Verdicts> {
    const { rds, timeouts } = this.#o;
    // Four volumes' worth at most exist at once: the source, the snapshot, the restored copy, the clone.
    await steps.run("reach the RDS and its pool", timeouts.rdsMs, async (signal) => {
      const { freeBytes } = await rds.capacity(signal);
      if (freeBytes < 4n * BigInt(this.#o.sizeBytes)) throw new Error(`the pool has ${freeBytes} bytes free; the check needs ${4 * this.#o.sizeBytes}`);
      return freeBytes;
    }, (free) => `${free} bytes free`);
    await steps.run("remove leftovers of earlier runs", timeouts.rdsMs * 4, (signal) => this.#removeLeftovers(signal), (ids) => (ids.length ? ids.join(", ") : "none"));
    this.#volumes.add(names.source);
    const source = await steps.run(`create scratch volume ${names.source}`, timeouts.rdsMs, (signal) =>
      rds.createVolume({ id: names.source, sizeBytes: BigInt(this.#o.sizeBytes), port: this.#o.nvme.port }, signal),
    );
    const device = await steps.run("attach scratch volume", timeouts.attachMs, (signal) => this.#attach(source, signal), (d) => d.devicePath);
    const pattern = randomBytes(this.#o.sizeBytes);
    await steps.run(`write and read back a ${this.#o.sizeBytes}-byte random pattern`, timeouts.ioMs * 2, async (signal) => {
      await this.#o.io.write(device.devicePath, pattern, signal);
      if (!(await this.#o.io.read(device.devicePath, pattern.length, signal)).equals(pattern)) {
        throw new Error(`the scratch volume does not read back what was written to ${device.devicePath}`);
      }
    });

    const snapshotRestore = await this.#verdict(stopping, () =>
      this.#checkCopy(steps, "snapshot + restore", names.restored, pattern, async (signal) => {
        this.#snapshots.add(names.snapshot);
        await this.#o.rds.createSnapshot({ id: names.snapshot, sourceVolumeId: source.id }, signal);
        // Restored one step larger than its source, so an RDS that ignores the size asked for shows it.
        const sizeBytes = source.sizeBytes + RESTORE_GROWTH_BYTES;
        return this.#o.rds.copyVolume({ id: names.restored, sourceId: names.snapshot, sizeBytes, port: source.port }, signal);
      }),
    );
    const clone = await this.#verdict(stopping, () =>
      this.#checkCopy(steps, "clone", names.clone, pattern, (signal) =>
        this.#o.rds.copyVolume({ id: names.clone, sourceId: source.id, sizeBytes: source.sizeBytes, port: source.port }, signal),
      ),
    );

    // The allow-list names a host that does not exist, so only this host's reaction is observed.
    const otherHost = `nqn.2014-08.org.nvmexpress:uuid:${randomUUID()}`;
    const newConnections = await this.#verdict<NewConnectionVerdict>(stopping, async () => {
      await steps.run("detach scratch volume", timeouts.attachMs, (signal) => this.#detach(source.nqn, signal));
      await steps.run("allow only another host on the scratch export", timeouts.rdsMs, (signal) => rds.setAllowedHosts(source.id, [otherHost], signal));
      return steps.run(
        "connect from this host",
        timeouts.attachMs,
        async (signal): Promise<NewConnectionVerdict> => {
          try {
            await this.#attach(source, signal);
            return { result: "admitted" };
          } catch (err) {
            if (signal.aborted) throw err;
            return { result: "refused" };
          }
        },
        (verdict) => verdict.result,
      );
    });
    const liveConnections = await this.#verdict<LiveConnectionVerdict>(stopping, async () => {
      await steps.run("allow this host on the scratch export", timeouts.rdsMs, (signal) => rds.setAllowedHosts(source.id, [this.#o.host.hostNqn], signal));
      await steps.run("attach scratch volume", timeouts.attachMs, (signal) => this.#attach(source, signal));
      await steps.run("allow only another host again", timeouts.rdsMs, (signal) => rds.setAllowedHosts(source.id, [otherHost], signal));
      return steps.run(
        `watch the live connection for ${timeouts.dropWaitMs} ms`,
        timeouts.dropWaitMs + timeouts.attachMs,
        (signal) => this.#watchConnection(source.nqn, signal),
        (verdict) => verdict.result,
      );
    });
    return { copy: { strategy: rds.copyStrategy.name, snapshotRestore, clone }, hostAccess: { newConnections, liveConnections } };
  }

  /** A failed check becomes an error verdict and the run goes on; an abort stops the run. */
  async #verdict<V>(stopping: AbortSignal, check: () => Promise<V>): Promise<V | { result: "error"; message: string }> {
    try {
      return await check();
    } catch (err) {
      if (stopping.aborted) throw err;
      return { result: "error", message: errorText(err) };
    }
  }

  async #checkCopy(
    steps: StepLog,
    how: string,
    id: string,
    pattern: Buffer,
    copy: (signal: AbortSignal) => Promise<RdsVolume & { readonly copy?: CopyObservation }>,
  ): Promise<CopyVerdict> {
    const { timeouts } = this.#o;
    this.#volumes.add(id);
    const volume = await steps.run(`copy via ${how} into ${id}`, timeouts.copyMs, copy);
    const device = await steps.run(`attach the ${how} copy`, timeouts.attachMs, (signal) => this.#attach(volume, signal), (d) => d.devicePath);
    const verdict = await steps.run(
      `compare the ${how} copy with the pattern`,
      timeouts.ioMs,
      async (signal) => judgeCopy(pattern, await this.#o.io.read(device.devicePath, pattern.length, signal), volume.copy),
      (v) => v.result,
    );
    await steps.run(`detach the ${how} copy`, timeouts.attachMs, (signal) => this.#detach(volume.nqn, signal));
    return verdict;
  }

  async #attach(volume: RdsVolume, signal: AbortSignal): Promise<DeviceIdentity> {
    const { host, nvme, initiator, resolver, timeouts } = this.#o;
    this.#connected.add(volume.nqn);
    await initiator.connect(
      {
        address: nvme.address,
        port: volume.port,
        nqn: volume.nqn,
        hostNqn: host.hostNqn,
        hostId: host.hostId,
        ctrlLossTmo: CTRL_LOSS_TMO_S,
        reconnectDelay: RECONNECT_DELAY_S,
        keepAliveTmo: KEEP_ALIVE_TMO_S,
      },
      signal,
    );
    return resolver.waitForNamespace(volume.nqn, signal, timeouts.attachMs);
  }

  async #detach(nqn: string, signal: AbortSignal): Promise<void> {
    await this.#o.initiator.disconnect(nqn, signal);
    this.#connected.delete(nqn);
  }

  /**
   * Dropped when the controller leaves `live` (the kernel reconnects, resets or deletes it) within the
   * wait; kept when it stays live throughout.
   */
  async #watchConnection(nqn: string, signal: AbortSignal): Promise<LiveConnectionVerdict> {
    const until = Date.now() + this.#o.timeouts.dropWaitMs;
    for (;;) {
      const controllers = await this.#o.initiator.controllers(nqn);
      if (controllers.length === 0 || controllers.some((c) => c.state !== "live")) return { result: "dropped" };
      if (Date.now() >= until) return { result: "kept" };
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, DROP_POLL_MS);
        signal.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
      });
    }
  }

  /** Scratch objects of crashed runs: this host's, and other hosts' once older than any run lasts. */
  async #removeLeftovers(signal: AbortSignal): Promise<string[]> {
    const { rds, host, maxRunMs } = this.#o;
    const now = this.#now();
    const stale = (id: string): boolean => isStaleScratch(id, host.hostNqn, now, maxRunMs);
    const volumes = (await rds.listVolumes(signal)).filter((v) => stale(v.id));
    const snapshots = (await rds.listSnapshots(signal)).filter((s) => stale(s.id));
    for (const volume of volumes) {
      if ((await this.#o.initiator.controllers(volume.nqn)).length > 0) await this.#o.initiator.disconnect(volume.nqn, signal);
      await rds.deleteVolume(volume.id, signal);
    }
    for (const snapshot of snapshots) await rds.deleteSnapshot(snapshot.id, signal);
    return [...volumes.map((v) => v.id), ...snapshots.map((s) => s.id)];
  }

  /** Runs on every path, under its own deadlines: the run's stop signal may already have fired. */
  async #cleanUp(steps: StepLog): Promise<void> {
    const { rds, timeouts } = this.#o;
    for (const nqn of [...this.#connected]) await steps.attempt(`clean up: detach ${nqn}`, timeouts.attachMs, (signal) => this.#detach(nqn, signal));
    for (const id of [...this.#volumes].reverse()) {
      if (await steps.attempt(`clean up: delete ${id}`, timeouts.rdsMs, (signal) => rds.deleteVolume(id, signal))) this.#volumes.delete(id);
    }
    for (const id of [...this.#snapshots]) {
      if (await steps.attempt(`clean up: delete ${id}`, timeouts.rdsMs, (signal) => rds.deleteSnapshot(id, signal))) this.#snapshots.delete(id);
    }
  }

  #leftovers(): string[] {
    return [...this.#volumes, ...this.#snapshots, ...[...this.#connected].map((nqn) => `NVMe/TCP connection to ${nqn}`)];
  }
}
