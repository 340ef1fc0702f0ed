import type { SshConnectionState } from "./ssh-transport.js";

/** A volume on the RDS: a file-backed disk under the driver's base path, exported over NVMe/TCP. */
export interface RdsVolume {
  readonly id: string;
  readonly filePath: string;
  /** Exact bytes, read back from the RDS (never the rounded `file-size`). */
  readonly sizeBytes: bigint;
  readonly nqn: string;
  readonly port: number;
  /** False when the disk exists but its NVMe/TCP export is off: the volume cannot be attached. */
  readonly exported: boolean;
  /** Host NQNs the export admits; empty means any host. */
  readonly allowedHosts: readonly string[];
  /**
   * A volume made by a copy whose disk has not yet reached the size the copy was asked for: RouterOS may
   * finish `copy-from` in the background. Never to be served; copyVolume waits for it.
   */
  readonly copyInProgress?: true;
}

/** A point-in-time copy of a volume: an unexported file-backed disk with the driver's metadata. */
export interface RdsSnapshot {
  readonly id: string;
  readonly filePath: string;
  readonly sizeBytes: bigint;
  /** Absent for a snapshot whose metadata the driver cannot read (not made by this driver). */
  readonly sourceVolumeId?: string;
  readonly createdAt?: Date;
  readonly strategy?: string;
  /** The copy has not yet reached the source's size (see RdsVolume.copyInProgress): not ready to use. */
  readonly copyInProgress?: true;
}

/** How the RDS carried out a copy, as the client saw it; the self-check reports it. */
export interface CopyObservation {
  /** The disk was listed before its data was all there: its size grew after the add returned. */
  readonly background: boolean;
  /** The copy settled at the source's size, not the size asked for, and the client grew it. */
  readonly sizeIgnored: boolean;
  /** From sending the add to a complete copy. */
  readonly completedAfterMs: number;
}

export interface RdsCapacity {
  readonly totalBytes: bigint;
  readonly freeBytes: bigint;
}

/**
 * A file directly under the base path that no disk uses: what is left when a delete stopped between
 * removing the disk and removing its file, or when someone removed a disk by hand. RouterOS keeps a
 * disk's file when the disk is removed, so only the orphan audit finds these.
 */
export interface RdsOrphanFile {
  readonly path: string;
  /** The volume or snapshot id the name carries (`<base>/<id>.img`), when it is named as this driver names files. */
  readonly id?: string;
  /** As RouterOS prints it, rounded (`10.0GiB`): for reports, never for a decision. */
  readonly approximateSizeBytes?: bigint;
}

/**
 * How data copies (snapshot, restore, clone) are made, and how far the operator trusts them.
 * `copy-from` is documented by MikroTik as a copy of a disk's settings; whether it copies a file-backed
 * disk's data is unknown until `selfcheck` proves it on the operator's RDS. The controller advertises
 * snapshot and clone capabilities only for a `verified` strategy.
 */
export interface CopyStrategy {
  readonly name: "disk-copy-from";
  readonly trust: "verified" | "unverified";
}

export interface CreateVolumeSpec {
  readonly id: string;
  readonly sizeBytes: bigint;
  readonly port: number;
  /**
   * The hosts the export admits from the moment it exists, set in the disk's own `/disk add` (the
   * controller gives NO_HOST_NQN while host access control is verified). Absent: any host. A new export
   * read back admitting any host in spite of it is closed by `/disk set`, and the create is InternalError.
   */
  readonly allowedHosts?: readonly string[];
}

export interface CopyVolumeSpec extends CreateVolumeSpec {
  /** A snapshot id (restore) or a volume id (clone). */
  readonly sourceId: string;
}

/**
 * Typed operations on one RDS, the only way the controller and the reconciler touch it. Every method
 * takes the caller's signal; every mutation is serialized per RDS and read back; a reply lost after the
 * RDS executed a command is resolved by reading state, never by repeating a create blindly.
 */
export interface RdsClient {
  /**
   * Same id and compatible size/port → the existing volume; incompatible → AlreadyExistsError.
   * `knownAbsent`: the caller read the slot under the volume's lock and found nothing, so the slot is
   * not read again first; a slot taken since is still caught, by the RDS refusing the add.
   */
  createVolume(spec: CreateVolumeSpec, signal: AbortSignal, options?: { readonly knownAbsent?: boolean }): Promise<RdsVolume>;
  /**
   * A new volume holding a copy of a snapshot or another volume, made with the copy strategy. Returns
   * only once the copy is complete: a copy the RDS finishes in the background is waited for (until the
   * copy deadline, then UnavailableError), one that ignored the size asked for is grown. A source still
   * being copied itself is UnavailableError. `copy` is present when this call made or finished the copy.
   */
  copyVolume(spec: CopyVolumeSpec, signal: AbortSignal): Promise<RdsVolume & { readonly copy?: CopyObservation }>;
  getVolume(id: string, signal: AbortSignal): Promise<RdsVolume | undefined>;
  /** Only this driver's volumes: slot prefix `pvc-`, backing file directly under the base path. */
  listVolumes(signal: AbortSignal): Promise<RdsVolume[]>;
  /** Grows the disk file; never shrinks. Returns the size read back. NotFoundError when missing. */
  resizeVolume(id: string, sizeBytes: bigint, signal: AbortSignal): Promise<RdsVolume>;
  /**
   * Removes the disk and then its backing file; what is already gone counts as deleted. A retry after a
   * delete that stopped between the two steps finds no disk and still removes the file (its path follows
   * from the id), unless some disk uses that file. FailedPreconditionError when the slot holds a disk this
   * driver does not manage.
   */
  deleteVolume(id: string, signal: AbortSignal): Promise<void>;
  /** Sets the host NQNs the export admits (empty: any host) and reads them back. */
  setAllowedHosts(id: string, hostNqns: readonly string[], signal: AbortSignal): Promise<RdsVolume>;
  capacity(signal: AbortSignal): Promise<RdsCapacity>;
  createSnapshot(spec: { id: string; sourceVolumeId: string }, signal: AbortSignal): Promise<RdsSnapshot>;
  getSnapshot(id: string, signal: AbortSignal): Promise<RdsSnapshot | undefined>;
  listSnapshots(signal: AbortSignal): Promise<RdsSnapshot[]>;
  deleteSnapshot(id: string, signal: AbortSignal): Promise<void>;
  /**
   * Files directly under the base path that no disk uses (see RdsOrphanFile). Files are listed before
   * disks, so a volume created meanwhile is never reported; a delete in progress may be (its disk gone,
   * its file not yet), so a caller acting on the answer takes the id's lock and asks again. A disk record
   * the driver cannot read still protects every file whose path appears in it.
   */
  listOrphanFiles(signal: AbortSignal): Promise<RdsOrphanFile[]>;
  readonly copyStrategy: CopyStrategy;
  readonly connectionState: SshConnectionState;
}
