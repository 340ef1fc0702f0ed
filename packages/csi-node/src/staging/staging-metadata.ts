import { createHash, randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CONNECT_SETTING_RANGES, InternalError, InvalidArgumentError, isFsType, NODE_PARAMETER_DEFAULTS, type ConnectSettings, type FsType } from "@rds-csi/core";

/**
 * What NodeStageVolume did, written down so unstage, expand and recovery read it instead of guessing
 * (ARCHITECTURE invariant 6).
 */
export interface StagingMetadata {
  readonly volumeId: string;
  readonly nqn: string;
  readonly address: string;
  readonly port: number;
  readonly hostNqn: string;
  readonly mode: "filesystem" | "block";
  /** The filesystem for `filesystem` mode; null for `block`. */
  readonly fsType: FsType | null;
  /**
   * The options the staging mount was made with, so a remount onto a new device (stale-mount recovery)
   * mounts it the same way. Absent in metadata written before they were recorded: no options.
   */
  readonly mountFlags?: readonly string[];
  readonly device: {
    /** "major:minor" of the block device at stage time. */
    readonly majorMinor: string;
    readonly nsid: number;
    /** The namespace UUID at stage time, "" when the target reported none (EUI-64 only). A witness, not the identity. */
    readonly uuid: string;
  };
  /**
   * The filesystem's UUID (blkid) at stage time, filesystem mode: what says a namespace found again under
   * the volume's NQN and nsid holds this volume's data, whatever its namespace UUID became
   * (docs/design/device-identity.md). Absent in block mode and in metadata written before it was recorded.
   */
  readonly filesystemUuid?: string;
  /** ISO-8601. */
  readonly stagedAt: string;
  /**
   * The publish targets (pods' bind mounts) made from this staging, so recovery can find them after the
   * device changed: a target is not a bind of the staging mount any more once the staging moved, and
   * NodeUnpublish names no staging path. Absent = none recorded.
   */
  readonly publishedTargets?: readonly PublishedTarget[];
  /**
   * The `nvme connect` settings the stage used (seconds), so a reconnect after the kernel gave up on
   * the controller asks for the same. Absent in metadata written before they were recorded.
   */
  readonly ctrlLossTmo?: number;
  readonly reconnectDelay?: number;
  readonly keepAliveTmo?: number;
  /**
   * ISO-8601: when a NodeUnstage began, written before it changes anything. Until the metadata is
   * removed, the unstage may have unmounted or disconnected part of the volume and kubelet will retry
   * it, so nothing reconnects or remounts it on its own; a NodeStage (kubelet wants it back) clears it.
   */
  readonly unstagingSince?: string;
}

/** The connect settings to reconnect a staged volume with: the recorded ones, else the StorageClass defaults. */
export function connectSettingsOf(metadata: StagingMetadata): ConnectSettings {
  return {
    ctrlLossTmo: metadata.ctrlLossTmo ?? NODE_PARAMETER_DEFAULTS.ctrlLossTmo,
    reconnectDelay: metadata.reconnectDelay ?? NODE_PARAMETER_DEFAULTS.reconnectDelay,
    keepAliveTmo: metadata.keepAliveTmo ?? NODE_PARAMETER_DEFAULTS.keepAliveTmo,
  };
}

export interface PublishedTarget {
  readonly path: string;
  readonly readonly: boolean;
  /**
   * ISO-8601: when recovery re-bound this target onto the volume's new device. Containers started
   * before then keep the old (dead) mount in their mount namespace, so stats on it stay abnormal.
   */
  readonly reboundAt?: string;
}

const FORMAT_VERSION = 1;
const FILE_PREFIX = "rds-csi-staging-";

/** The file is there but cannot be trusted. Internal: the CO cannot fix it; an operator must look. */
export class StagingMetadataError extends InternalError {
  override readonly name: string = "StagingMetadataError";
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`staging metadata ${path} is invalid: ${reason}`, options);
  }
}

/**
 * Where: the **parent directory of the staging path**, as `rds-csi-staging-<sha256(volumeId)>.json`.
 * - Not inside the staging path: once the volume is mounted there, a file inside is hidden under the
 *   mount (and writing one would write into the user's filesystem). The parent is never mounted over.
 * - Kubelet makes the parent per volume (`.../<driver>/<hash>/globalmount`) and it lives on the host
 *   (the kubelet directory is a hostPath), so the file survives plugin restarts and pod rescheduling
 *   on the node, and sits beside the staging path as the architecture says.
 * - The volume id is hashed into the name so a metadata file can never be read for another volume,
 *   and an id with "/" or ".." cannot steer the path. The file is removed on unstage, so kubelet's
 *   non-recursive removal of that directory still succeeds.
 */
export function stagingMetadataPath(stagingPath: string, volumeId: string): string {
  if (!stagingPath.startsWith("/")) throw new InvalidArgumentError(`staging_target_path must be absolute, got ${JSON.stringify(stagingPath)}`);
  if (volumeId === "") throw new InvalidArgumentError("volume_id must not be empty");
  return join(dirname(stagingPath), stagingMetadataFileName(volumeId));
}

/** The name of a volume's metadata file: a scan that knows only the volume id looks for this name. */
export function stagingMetadataFileName(volumeId: string): string {
  return `${FILE_PREFIX}${createHash("sha256").update(volumeId).digest("hex")}.json`;
}

/** Writes atomically: a temp file in the same directory, fsync, rename over, fsync the directory. */
export async function writeStagingMetadata(stagingPath: string, metadata: StagingMetadata): Promise<string> {
  const path = stagingMetadataPath(stagingPath, metadata.volumeId);
  validate(path, { version: FORMAT_VERSION, ...metadata }); // never write what could not be read back
  // The staging path is recorded too: a scan that finds the file (stale-mount watcher) cannot derive it.
  const body = `${JSON.stringify({ version: FORMAT_VERSION, ...metadata, stagingPath }, null, 2)}\n`;
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(body, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dirname(path));
  return path;
}

/** The metadata, or undefined when none was written (not staged). Invalid content throws `StagingMetadataError`. */
export async function readStagingMetadata(stagingPath: string, volumeId: string): Promise<StagingMetadata | undefined> {
  const path = stagingMetadataPath(stagingPath, volumeId);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new StagingMetadataError(path, `not JSON (${(err as Error).message})`, { cause: err });
  }
  const metadata = validate(path, parsed);
  if (metadata.volumeId !== volumeId) {
    throw new StagingMetadataError(path, `it names volume ${JSON.stringify(metadata.volumeId)}, expected ${JSON.stringify(volumeId)}`);
  }
  return metadata;
}

/**
 * The metadata in a file found by a scan, with the staging path recorded in it; undefined when the
 * file is gone or records no staging path. The file must sit exactly where that staging path's
 * metadata belongs, so a file cannot steer anyone to another path.
 */
export async function readStagingMetadataFile(path: string): Promise<{ metadata: StagingMetadata; stagingPath: string } | undefined> {
  let parsed: { volumeId?: unknown; stagingPath?: unknown };
  try {
    parsed = JSON.parse(await readFile(path, "utf8")) as typeof parsed;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StagingMetadataError(path, (err as Error).message, { cause: err });
  }
  const { volumeId, stagingPath } = parsed;
  if (typeof stagingPath !== "string" || !stagingPath.startsWith("/")) return undefined;
  if (typeof volumeId !== "string" || volumeId === "" || stagingMetadataPath(stagingPath, volumeId) !== path) {
    throw new StagingMetadataError(path, `it does not belong to staging path ${JSON.stringify(stagingPath)}`);
  }
  const metadata = await readStagingMetadata(stagingPath, volumeId);
  return metadata === undefined ? undefined : { metadata, stagingPath };
}

/** Removes the metadata; already gone is fine (idempotent unstage). */
export async function removeStagingMetadata(stagingPath: string, volumeId: string): Promise<void> {
  const path = stagingMetadataPath(stagingPath, volumeId);
  await rm(path, { force: true });
  await syncDirectory(dirname(path));
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function validate(path: string, value: unknown): StagingMetadata {
  const fail = (reason: string): never => {
    throw new StagingMetadataError(path, reason);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("not a JSON object");
  const o = value as Record<string, unknown>;
  if (o["version"] !== FORMAT_VERSION) fail(`version is ${JSON.stringify(o["version"])}, expected ${FORMAT_VERSION}`);
  const str = (field: string): string => {
    const v = o[field];
    if (typeof v !== "string" || v === "") fail(`field "${field}" must be a non-empty string`);
    return v as string;
  };
  const volumeId = str("volumeId");
  const nqn = str("nqn");
  const address = str("address");
  const hostNqn = str("hostNqn");
  const port = o["port"];
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) fail(`field "port" must be an integer in 1..65535`);
  const mode = o["mode"];
  if (mode !== "filesystem" && mode !== "block") fail(`field "mode" must be "filesystem" or "block"`);
  const fsType = o["fsType"];
  if (mode === "filesystem" && !(typeof fsType === "string" && isFsType(fsType))) fail(`field "fsType" must be a supported filesystem in filesystem mode`);
  if (mode === "block" && fsType !== null) fail(`field "fsType" must be null in block mode`);
  const mountFlags = o["mountFlags"];
  if (mountFlags !== undefined && !(Array.isArray(mountFlags) && mountFlags.every(isMountFlag))) {
    fail(`field "mountFlags" must be a list of non-empty options without commas or whitespace`);
  }
  const device = o["device"];
  if (typeof device !== "object" || device === null) fail(`field "device" must be an object`);
  const d = device as Record<string, unknown>;
  if (typeof d["majorMinor"] !== "string" || !/^\d+:\d+$/.test(d["majorMinor"])) fail(`field "device.majorMinor" must be "major:minor"`);
  if (!Number.isInteger(d["nsid"]) || (d["nsid"] as number) < 1) fail(`field "device.nsid" must be a positive integer`);
  if (typeof d["uuid"] !== "string") fail(`field "device.uuid" must be a string`);
  const filesystemUuid = o["filesystemUuid"];
  if (filesystemUuid !== undefined && (typeof filesystemUuid !== "string" || filesystemUuid === "")) fail(`field "filesystemUuid" must be a non-empty string`);
  const stagedAt = str("stagedAt");
  if (Number.isNaN(Date.parse(stagedAt))) fail(`field "stagedAt" is not a date`);
  const targets = o["publishedTargets"];
  if (targets !== undefined && !(Array.isArray(targets) && targets.every(isPublishedTarget))) {
    fail(`field "publishedTargets" must be a list of {path (absolute), readonly, reboundAt?}`);
  }
  const unstagingSince = o["unstagingSince"];
  if (unstagingSince !== undefined && (typeof unstagingSince !== "string" || Number.isNaN(Date.parse(unstagingSince)))) fail(`field "unstagingSince" is not a date`);
  const settings: Partial<Record<keyof ConnectSettings, number>> = {};
  for (const [field, { min, max }] of Object.entries(CONNECT_SETTING_RANGES) as [keyof ConnectSettings, { min: number; max: number }][]) {
    const v = o[field];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) fail(`field "${field}" must be an integer from ${min} to ${max}`);
    settings[field] = v as number;
  }
  return {
    volumeId, nqn, address, port: port as number, hostNqn,
    mode: mode as "filesystem" | "block",
    fsType: (fsType ?? null) as FsType | null,
    ...(mountFlags !== undefined && { mountFlags: [...(mountFlags as string[])] }),
    device: { majorMinor: d["majorMinor"] as string, nsid: d["nsid"] as number, uuid: d["uuid"] as string },
    ...(filesystemUuid !== undefined && { filesystemUuid: filesystemUuid as string }),
    stagedAt,
    ...(targets !== undefined && { publishedTargets: (targets as PublishedTarget[]).map(({ path: target, readonly, reboundAt }) => ({ path: target, readonly, ...(reboundAt !== undefined && { reboundAt }) })) }),
    ...settings,
    ...(unstagingSince !== undefined && { unstagingSince: unstagingSince as string }),
  };
}

/** One mount option as the mounter takes it: a comma or whitespace would change what mount(8) reads. */
function isMountFlag(value: unknown): value is string {
  return typeof value === "string" && value !== "" && !/[,\s\0]/.test(value);
}

function isPublishedTarget(value: unknown): value is PublishedTarget {
  if (typeof value !== "object" || value === null) return false;
  const t = value as Record<string, unknown>;
  return typeof t["path"] === "string" && t["path"].startsWith("/") && typeof t["readonly"] === "boolean"
    && (t["reboundAt"] === undefined || (typeof t["reboundAt"] === "string" && !Number.isNaN(Date.parse(t["reboundAt"]))));
}
