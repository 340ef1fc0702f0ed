import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { Logger } from "@rds-csi/core";
import { canonicalPath } from "./mount/canonical-path.js";
import type { Mounter } from "./mount/mounter.js";
import type { MountInfoEntry } from "./mount/parse-mountinfo.js";
import type { DeviceResolver } from "./nvme/device-identity.js";
import { decideDisconnect, isManagedNqn, type MountRef, type StagedVolumeRef } from "./nvme/disconnect-policy.js";
import { readBlockDeviceNumbers } from "./nvme/block-device-numbers.js";
import { readDeviceUsage, readMountRefs } from "./nvme/device-usage.js";
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
  readonly resolver: Pick<DeviceResolver, "resolve" | "deviceNodes">;
  readonly mounter: Pick<Mounter, "unmount" | "mountTable">;
  readonly managedNqnPrefix: string;
  /**
   * The kubelet's root directory. Staging metadata is looked for under its CSI plugin directory
   * (bounded depth, no symlinks, never into a mount point); orphaned mounts only at the places kubelet
   * asks CSI drivers to mount (see mountPlaceOf).
   */
  readonly kubeletDir: string;
  /** This driver's name: kubelet stages its filesystem volumes under `<csi plugin dir>/<driver>/`. */
  readonly driverName: string;
  readonly logger: Logger;
  readonly deadlineMs?: number;
  readonly maxDepth?: number;
}

export interface StartupReconciliationSummary {
  /** Volumes the metadata files on this node claim (feed them to StagedVolumes). */
  readonly claimed: StagedVolumeRef[];
  /** Metadata files that could not be read or trusted; while any exists, nothing is unmounted or disconnected. */
  readonly invalidMetadata: string[];
  /** Mount points of this driver that no metadata claims, unmounted. */
  readonly unmounted: string[];
  /** Mounts at kubelet's CSI places left alone, and why. */
  readonly keptMounts: { mountPoint: string; reason: string }[];
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
 * controllers in sysfs. First it unmounts the mounts of this driver that no metadata claims (a crash
 * between mount and metadata, a metadata file lost), then it disconnects controllers of this driver
 * (managed NQN prefix) that no metadata claims and no mount or holder uses — through decideDisconnect,
 * so every input that cannot be read keeps the controller.
 *
 * A mount is unmounted only when it is provably ours (decideMount): its device resolves by identity to
 * a namespace of a managed NQN, or it is a mount of a device that no longer exists at a filesystem
 * staging path of this driver with no metadata beside it. A claimed volume's mounts stay (stale-mount
 * recovery is NodeStage's job). Never throws: start-up goes on whatever happens here.
 */
export async function reconcileAtStartup(options: StartupReconciliationOptions): Promise<StartupReconciliationSummary> {
  const { logger } = options;
  const deadlineMs = options.deadlineMs ?? RECONCILE_DEADLINE_MS;
  const signal = AbortSignal.timeout(deadlineMs);
  const summary: StartupReconciliationSummary = {
    claimed: [], invalidMetadata: [], unmounted: [], keptMounts: [], disconnected: [], kept: [], foreign: [], errors: [], timedOut: false,
  };
  const claims: StagingClaim[] = [];
  const started = Date.now();
  try {
    // Mount points in the table have their symlinks resolved; so must the places compared with them.
    const kubeletDir = await canonicalPath(options.kubeletDir);
    let mounts: MountRef[] | undefined;
    let table: MountInfoEntry[] | undefined;
    let mountPoints = new Set<string>();
    try {
      table = await options.mounter.mountTable();
      mounts = await readMountRefs(table, options.resolver.deviceNodes);
      mountPoints = new Set(table.map((m) => m.mountPoint));
    } catch (err) {
      summary.errors.push(`mount table: ${String(err)}`);
      logger.warn("reconciliation: cannot read the mount table; no controller will be disconnected", { error: String(err) });
    }

    let staged: StagedVolumeRef[] | undefined = [];
    const root = kubeletCsiPluginDir(kubeletDir);
    const metadataFiles: string[] = [];
    try {
      // Without the mount table, a directory could be a user's mounted filesystem: do not scan blind.
      if (mounts === undefined) throw new Error("the mount table could not be read");
      // No directory is not "nothing staged": a wrong --kubelet-dir would make every volume an orphan.
      if (!(await isDirectory(root))) throw new Error(`${root} is not a directory (is --kubelet-dir the kubelet's root directory?)`);
      await findMetadataFiles(root, options.maxDepth ?? METADATA_SCAN_DEPTH, mountPoints, metadataFiles, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      staged = undefined;
      summary.errors.push(`scan ${root}: ${String(err)}`);
      logger.warn("reconciliation: cannot scan for staging metadata; nothing will be unmounted or disconnected", { root, error: String(err) });
    }
    for (const file of metadataFiles) {
      const claim = await readClaim(file);
      if (claim === undefined) {
        summary.invalidMetadata.push(file);
        staged = undefined;
        logger.warn("reconciliation: staging metadata cannot be trusted; nothing will be unmounted or disconnected", { path: file });
      } else {
        claims.push(claim);
        summary.claimed.push({ volumeId: claim.volumeId, nqn: claim.nqn });
        staged?.push({ volumeId: claim.volumeId, nqn: claim.nqn });
      }
    }
    for (const claim of summary.claimed) logger.info("reconciliation: volume staged per its metadata", { volumeId: claim.volumeId, nqn: claim.nqn });

    const nqns = new Set<string>();
    for (const name of await options.sysfs.list("class/nvme")) {
      const nqn = await options.sysfs.read(`class/nvme/${name}/subsysnqn`);
      if (nqn !== undefined) nqns.add(nqn);
    }

    if (table !== undefined && mounts !== undefined && staged !== undefined) {
      const devices = await readDevices(options, nqns, logger);
      const trusted: MountEvidence = { devices, claims, metadataDirs: new Set(metadataFiles.map((file) => dirname(file))), driverName: options.driverName };
      if (await unmountOrphans(options, kubeletDir, table, mounts, trusted, summary, signal) > 0) {
        try {
          mounts = await readMountRefs(await options.mounter.mountTable(), options.resolver.deviceNodes);
        } catch (err) {
          mounts = undefined;
          summary.errors.push(`mount table: ${String(err)}`);
          logger.warn("reconciliation: cannot re-read the mount table; no controller will be disconnected", { error: String(err) });
        }
      }
    } else {
      logger.warn("reconciliation: the mount table or the staging metadata could not be read; no mount will be unmounted");
    }
    for (const nqn of [...nqns].sort()) {
      signal.throwIfAborted();
      if (!isManagedNqn(nqn, options.managedNqnPrefix)) {
        summary.foreign.push(nqn);
        logger.debug("reconciliation: not this driver's subsystem, left alone", { nqn });
        continue;
      }
      if (summary.claimed.some((c) => c.nqn === nqn)) {
        summary.kept.push({ nqn, reason: "claimed by staging metadata" });
        continue;
      }
      const usage = await readDeviceUsage(options.resolver, options.sysfs, nqn);
      if (usage.error !== undefined) logger.warn("reconciliation: cannot resolve the device", { nqn, error: String(usage.error) });
      const decision = decideDisconnect({ volumeId: "", nqn, managedPrefix: options.managedNqnPrefix, ...usage, mounts, stagedVolumes: staged });
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
    unmounted: summary.unmounted.length,
    keptMounts: summary.keptMounts.length,
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
export async function findMetadataFiles(dir: string, depth: number, mountPoints: ReadonlySet<string>, out: string[], signal: AbortSignal): Promise<void> {
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

export interface StagingClaim extends StagedVolumeRef {
  /** the device the volume was staged on: a mount of it stays even when the device is gone */
  readonly majorMinor: string;
}

/** The volume a metadata file claims, validated through the one reader (which also checks the name hash). */
async function readClaim(path: string): Promise<StagingClaim | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as { volumeId?: unknown };
    if (typeof parsed.volumeId !== "string" || parsed.volumeId === "") return undefined;
    // The reader takes the staging path and looks in its parent: any child of the file's directory.
    const metadata = await readStagingMetadata(join(path, "..", "globalmount"), parsed.volumeId);
    return metadata === undefined ? undefined : { volumeId: metadata.volumeId, nqn: metadata.nqn, majorMinor: metadata.device.majorMinor };
  } catch {
    return undefined;
  }
}

/** What sysfs says about block devices: every device number that exists, and those of managed namespaces. */
export interface BlockDevices {
  /** `MAJ:MIN` of every block device in sysfs */
  readonly present: ReadonlySet<string>;
  /** `MAJ:MIN` → NQN, for the namespace heads of managed subsystems that resolved by identity */
  readonly managed: ReadonlyMap<string, string>;
}

async function readDevices(options: StartupReconciliationOptions, nqns: ReadonlySet<string>, logger: Logger): Promise<BlockDevices> {
  const present = new Set((await readBlockDeviceNumbers(options.sysfs)).keys());
  const managed = new Map<string, string>();
  for (const nqn of nqns) {
    if (!isManagedNqn(nqn, options.managedNqnPrefix)) continue;
    try {
      const identity = await options.resolver.resolve(nqn);
      if (identity !== undefined) managed.set(identity.majorMinor, nqn);
    } catch (err) {
      // Its mounts are then not provably ours, and stay.
      logger.warn("reconciliation: cannot resolve the device of a managed subsystem", { nqn, error: String(err) });
    }
  }
  return { present, managed };
}

/** Where kubelet asks a CSI driver to mount, relative to its root directory. */
export type MountPlace =
  /** `plugins/kubernetes.io/csi/<driver>/<hash>/globalmount`: a filesystem staging path of `driver` */
  | { readonly kind: "staging"; readonly driver: string }
  /** under `plugins/kubernetes.io/csi/volumeDevices/`: block staging and publish files, of any driver */
  | { readonly kind: "block" }
  /** `pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount`: a pod's target, of any driver */
  | { readonly kind: "pod" };

export function mountPlaceOf(kubeletDir: string, mountPoint: string): MountPlace | undefined {
  const rel = relative(kubeletDir, mountPoint);
  if (rel === "" || rel.startsWith("..") || rel.startsWith(sep)) return undefined;
  const parts = rel.split(sep);
  if (parts.length === 6 && parts[0] === "pods" && parts[2] === "volumes" && parts[3] === "kubernetes.io~csi" && parts[5] === "mount") return { kind: "pod" };
  if (parts.length < 4 || parts[0] !== "plugins" || parts[1] !== "kubernetes.io" || parts[2] !== "csi") return undefined;
  if (parts[3] === "volumeDevices") return parts.length > 4 ? { kind: "block" } : undefined;
  if (parts.length === 6 && parts[5] === "globalmount") return { kind: "staging", driver: parts[3]! };
  return undefined;
}

export interface MountEvidence {
  readonly devices: BlockDevices;
  readonly claims: readonly StagingClaim[];
  /** directories holding a staging metadata file */
  readonly metadataDirs: ReadonlySet<string>;
  readonly driverName: string;
}

export type MountDecision =
  | { readonly unmount: true; readonly deviceDead: boolean; readonly why: string }
  | { readonly unmount: false; readonly reason: string };

/**
 * Whether a mount at one of kubelet's CSI places is an orphan of this driver. Pure. A bind-mounted
 * device node (a raw block target) is judged by the device it points to, not by the filesystem that
 * holds the node.
 */
export function decideMount(mount: Pick<MountInfoEntry, "mountPoint" | "major" | "majorMinor"> & Pick<MountRef, "boundDevice">, place: MountPlace, trusted: MountEvidence): MountDecision {
  if (mount.boundDevice === undefined) return { unmount: false, reason: "the mount point could not be stat'ed (it may be a bind of a device node)" };
  // Major 0: no block device behind it (tmpfs, overlay, …): never one of our volumes.
  if (mount.boundDevice === null && mount.major === 0) return { unmount: false, reason: "not a block device mount" };
  const device = mount.boundDevice ?? mount.majorMinor;
  const nqn = trusted.devices.managed.get(device);
  if (nqn !== undefined) {
    const claim = trusted.claims.find((c) => c.nqn === nqn);
    if (claim !== undefined) return { unmount: false, reason: `${nqn} is claimed by the staging metadata of ${claim.volumeId}` };
    return { unmount: true, deviceDead: false, why: `a namespace of ${nqn}, which no staging metadata claims` };
  }
  if (trusted.devices.present.has(device)) return { unmount: false, reason: `device ${device} is not a namespace of this driver` };
  // The device is gone: only our own staging path with no metadata beside it is provably ours.
  const claim = trusted.claims.find((c) => c.majorMinor === device);
  if (claim !== undefined) return { unmount: false, reason: `device ${device} is gone but claimed by the staging metadata of ${claim.volumeId}` };
  if (place.kind !== "staging" || place.driver !== trusted.driverName) return { unmount: false, reason: `device ${device} is gone, but nothing proves the mount is this driver's` };
  if (trusted.metadataDirs.has(dirname(mount.mountPoint))) return { unmount: false, reason: "staging metadata sits beside it" };
  return { unmount: true, deviceDead: true, why: `device ${device} is gone and no staging metadata claims this staging path` };
}

/** Unmounts the orphans among the mounts at kubelet's CSI places: pods' and block targets before staging paths. */
async function unmountOrphans(
  options: StartupReconciliationOptions,
  kubeletDir: string,
  table: readonly MountInfoEntry[],
  refs: readonly MountRef[],
  trusted: MountEvidence,
  summary: StartupReconciliationSummary,
  signal: AbortSignal,
): Promise<number> {
  const { logger } = options;
  const order = { pod: 0, block: 1, staging: 2 };
  const candidates = new Map<string, { mount: MountInfoEntry & Pick<MountRef, "boundDevice">; place: MountPlace }>();
  // Later lines are mounted later: the last entry at a mount point is the visible one.
  table.forEach((mount, i) => {
    const place = mountPlaceOf(kubeletDir, mount.mountPoint);
    if (place !== undefined) candidates.set(mount.mountPoint, { mount: { ...mount, boundDevice: refs[i]!.boundDevice }, place });
  });
  let unmounted = 0;
  for (const { mount, place } of [...candidates.values()].sort((a, b) => order[a.place.kind] - order[b.place.kind])) {
    signal.throwIfAborted();
    const decision = decideMount(mount, place, trusted);
    if (!decision.unmount) {
      summary.keptMounts.push({ mountPoint: mount.mountPoint, reason: decision.reason });
      logger.info("reconciliation: mount kept", { mountPoint: mount.mountPoint, reason: decision.reason });
      continue;
    }
    try {
      await options.mounter.unmount(mount.mountPoint, { deviceDead: decision.deviceDead });
      summary.unmounted.push(mount.mountPoint);
      unmounted++;
      logger.info("reconciliation: unmounted an orphaned mount of this driver", { mountPoint: mount.mountPoint, source: mount.source, device: mount.boundDevice ?? mount.majorMinor, why: decision.why });
    } catch (err) {
      summary.errors.push(`unmount ${mount.mountPoint}: ${String(err)}`);
      summary.keptMounts.push({ mountPoint: mount.mountPoint, reason: `unmount failed: ${String(err)}` });
      logger.error("reconciliation: unmount failed", { mountPoint: mount.mountPoint, error: String(err) });
    }
  }
  return unmounted;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

