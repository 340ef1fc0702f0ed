import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@rds-csi/core";
import type { MountInfoEntry } from "./mount/parse-mountinfo.js";
import type { DeviceResolver } from "./nvme/device-identity.js";
import { decideDisconnect, type DeviceState, type MountRef, type StagedVolumeRef } from "./nvme/disconnect-policy.js";
import type { NvmeInitiator } from "./nvme/nvme-initiator.js";
import type { Sysfs } from "./nvme/sysfs.js";
import { readStagingMetadata } from "./staging/staging-metadata.js";

/** Whole reconciliation, scan and disconnects included; past it the rest is skipped (start-up must go on). */
export const RECONCILE_DEADLINE_MS = 60_000;
/**
 * How deep under the kubelet's CSI plugin directory metadata files are looked for. Filesystem staging
 * metadata sits at `<driver>/<hash>/rds-csi-staging-*.json` (depth 3), block at
 * `volumeDevices/staging/rds-csi-staging-*.json` (depth 3); one more level of slack.
 */
export const METADATA_SCAN_DEPTH = 4;
const METADATA_FILE = /^rds-csi-staging-[0-9a-f]{64}\.json$/;

/** `<kubelet-dir>/plugins/kubernetes.io/csi`: where kubelet puts every CSI staging path. */
export function kubeletCsiPluginDir(kubeletDir: string): string {
  return join(kubeletDir, "plugins", "kubernetes.io", "csi");
}

export interface StartupReconciliationOptions {
  readonly sysfs: Sysfs;
  readonly initiator: Pick<NvmeInitiator, "disconnect">;
  readonly resolver: Pick<DeviceResolver, "resolve">;
  readonly managedNqnPrefix: string;
  /** Directories scanned (bounded depth, no symlinks, never into a mount point) for staging metadata files. */
  readonly metadataRoots: readonly string[];
  mountTable(): Promise<MountInfoEntry[]>;
  readonly logger: Logger;
  readonly deadlineMs?: number;
  readonly maxDepth?: number;
}

export interface StartupReconciliationSummary {
  /** Volumes the metadata files on this node claim (feed them to StagedVolumes). */
  readonly claimed: StagedVolumeRef[];
  /** Metadata files that could not be read or trusted; while any exists, nothing is disconnected. */
  readonly invalidMetadata: string[];
  /** Subsystem NQNs of this driver that were disconnected. */
  readonly disconnected: string[];
  /** Subsystem NQNs (of this driver) left connected, and why. */
  readonly kept: { nqn: string; reason: string }[];
  /** Subsystem NQNs without the managed prefix: the host's own, never touched. */
  readonly foreign: string[];
  readonly errors: string[];
  readonly timedOut: boolean;
}

/**
 * Start-up reconciliation (issue 5): compares the staging metadata files, the mount table and the NVMe
 * controllers in sysfs, and disconnects controllers of this driver (managed NQN prefix) that no
 * metadata claims and no mount or holder uses — through decideDisconnect, so every input that cannot
 * be read keeps the controller. Never throws: start-up goes on whatever happens here.
 */
export async function reconcileAtStartup(options: StartupReconciliationOptions): Promise<StartupReconciliationSummary> {
  const { logger } = options;
  const deadlineMs = options.deadlineMs ?? RECONCILE_DEADLINE_MS;
  const signal = AbortSignal.timeout(deadlineMs);
  const summary: StartupReconciliationSummary = { claimed: [], invalidMetadata: [], disconnected: [], kept: [], foreign: [], errors: [], timedOut: false };
  const started = Date.now();
  try {
    let mounts: MountRef[] | undefined;
    let mountPoints = new Set<string>();
    try {
      const table = await options.mountTable();
      mounts = table.map((m) => ({ mountPoint: m.mountPoint, majorMinor: m.majorMinor, source: m.source }));
      mountPoints = new Set(table.map((m) => m.mountPoint));
    } catch (err) {
      summary.errors.push(`mount table: ${String(err)}`);
      logger.warn("reconciliation: cannot read the mount table; no controller will be disconnected", { error: String(err) });
    }

    let staged: StagedVolumeRef[] | undefined = [];
    for (const root of options.metadataRoots) {
      signal.throwIfAborted();
      const files: string[] = [];
      try {
        // Without the mount table, a directory could be a user's mounted filesystem: do not scan blind.
        if (mounts === undefined) throw new Error("the mount table could not be read");
        await findMetadataFiles(root, options.maxDepth ?? METADATA_SCAN_DEPTH, mountPoints, files, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        staged = undefined;
        summary.errors.push(`scan ${root}: ${String(err)}`);
        logger.warn("reconciliation: cannot scan for staging metadata; no controller will be disconnected", { root, error: String(err) });
        continue;
      }
      for (const file of files) {
        const claim = await readClaim(file);
        if (claim === undefined) {
          summary.invalidMetadata.push(file);
          staged = undefined;
          logger.warn("reconciliation: staging metadata cannot be trusted; no controller will be disconnected", { path: file });
        } else {
          summary.claimed.push(claim);
          staged?.push(claim);
        }
      }
    }
    for (const claim of summary.claimed) logger.info("reconciliation: volume staged per its metadata", { volumeId: claim.volumeId, nqn: claim.nqn });

    const nqns = new Set<string>();
    for (const name of await options.sysfs.list("class/nvme")) {
      const nqn = await options.sysfs.read(`class/nvme/${name}/subsysnqn`);
      if (nqn !== undefined) nqns.add(nqn);
    }
    for (const nqn of [...nqns].sort()) {
      signal.throwIfAborted();
      if (options.managedNqnPrefix === "" || !nqn.startsWith(options.managedNqnPrefix)) {
        summary.foreign.push(nqn);
        logger.debug("reconciliation: not this driver's subsystem, left alone", { nqn });
        continue;
      }
      if (summary.claimed.some((c) => c.nqn === nqn)) {
        summary.kept.push({ nqn, reason: "claimed by staging metadata" });
        continue;
      }
      let device: DeviceState | undefined;
      let holders: string[] | undefined;
      try {
        const identity = await options.resolver.resolve(nqn);
        device = identity === undefined ? { kind: "absent" } : { kind: "present", majorMinor: identity.majorMinor, devicePath: identity.devicePath };
        holders = identity === undefined ? [] : await options.sysfs.list(`class/block/${identity.name}/holders`);
      } catch (err) {
        logger.warn("reconciliation: cannot resolve the device", { nqn, error: String(err) });
      }
      const decision = decideDisconnect({ volumeId: "", nqn, managedPrefix: options.managedNqnPrefix, device, mounts, holders, stagedVolumes: staged });
      if (!decision.disconnect) {
        summary.kept.push({ nqn, reason: decision.reason });
        logger.info("reconciliation: controller kept connected", { nqn, reason: decision.reason });
        continue;
      }
      try {
        const count = await options.initiator.disconnect(nqn, signal);
        summary.disconnected.push(nqn);
        logger.info("reconciliation: disconnected a controller no staged volume claims", { nqn, controllers: count });
      } catch (err) {
        if (signal.aborted) throw err;
        summary.errors.push(`disconnect ${nqn}: ${String(err)}`);
        logger.error("reconciliation: disconnect failed", { nqn, error: String(err) });
      }
    }
  } catch (err) {
    if (signal.aborted) {
      (summary as { timedOut: boolean }).timedOut = true;
      logger.warn("reconciliation: deadline passed; the rest is skipped", { deadlineMs });
    } else {
      summary.errors.push(String(err));
      logger.error("reconciliation failed; start-up goes on", { error: String(err) });
    }
  }
  logger.info("reconciliation done", {
    durationMs: Date.now() - started,
    claimed: summary.claimed.length,
    disconnected: summary.disconnected,
    kept: summary.kept.length,
    foreign: summary.foreign.length,
    invalidMetadata: summary.invalidMetadata.length,
    errors: summary.errors.length,
    timedOut: summary.timedOut,
  });
  return summary;
}

/** Depth-first, bounded; only real directories (no symlinks), never into a mount point (a volume's data). */
async function findMetadataFiles(dir: string, depth: number, mountPoints: ReadonlySet<string>, out: string[], signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return;
    throw err;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isFile() && METADATA_FILE.test(entry.name)) out.push(path);
    else if (entry.isDirectory() && depth > 1 && !mountPoints.has(path)) await findMetadataFiles(path, depth - 1, mountPoints, out, signal);
  }
}

/** The volume a metadata file claims, validated through the one reader (which also checks the name hash). */
async function readClaim(path: string): Promise<StagedVolumeRef | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as { volumeId?: unknown };
    if (typeof parsed.volumeId !== "string" || parsed.volumeId === "") return undefined;
    // The reader takes the staging path and looks in its parent: any child of the file's directory.
    const metadata = await readStagingMetadata(join(path, "..", "globalmount"), parsed.volumeId);
    return metadata === undefined ? undefined : { volumeId: metadata.volumeId, nqn: metadata.nqn };
  } catch {
    return undefined;
  }
}
