import { csi, InvalidArgumentError, isFsType, printableExcerpt, type FsType } from "@rds-csi/core";

const Mode = csi.VolumeCapability_AccessMode_Mode;
type AccessMode = csi.VolumeCapability_AccessMode_Mode;

/** A capability that passed validation, reduced to what the handlers act on. */
export interface CheckedCapability {
  readonly mode: AccessMode;
  readonly accessType: "block" | "mount";
  /** Undefined when the capability leaves the choice to the StorageClass. */
  readonly fsType: FsType | undefined;
  readonly mountFlags: readonly string[];
}

/** Modes served with either access type: one node, however many writers on it. */
const SINGLE_NODE_MODES: ReadonlySet<AccessMode> = new Set([
  Mode.SINGLE_NODE_WRITER,
  Mode.SINGLE_NODE_READER_ONLY,
  Mode.SINGLE_NODE_SINGLE_WRITER,
  Mode.SINGLE_NODE_MULTI_WRITER,
]);

/**
 * Modes served for raw block only. MULTI_NODE_MULTI_WRITER is KubeVirt live migration: QEMU hands the
 * disk from one node to the other; a filesystem mounted on two nodes is corrupted. MULTI_NODE_READER_ONLY
 * is safe for a raw device nobody writes, but not for ext4/xfs: a read-only mount still replays a dirty
 * journal, so every node would write to the shared device.
 */
const BLOCK_ONLY_MODES: ReadonlySet<AccessMode> = new Set([Mode.MULTI_NODE_MULTI_WRITER, Mode.MULTI_NODE_READER_ONLY]);

export function modeName(mode: AccessMode): string {
  return csi.volumeCapability_AccessMode_ModeToJSON(mode);
}

/** Why this driver cannot serve the capability, naming `field`; undefined when it can. */
export function capabilityProblem(capability: csi.VolumeCapability | undefined, field: string): string | undefined {
  if (capability === undefined) return `${field} is required`;
  if ((capability.block === undefined) === (capability.mount === undefined)) {
    return `${field} must set exactly one access type, block or mount`;
  }
  const mode = capability.accessMode?.mode ?? Mode.UNKNOWN;
  if (mode === Mode.UNKNOWN || mode === Mode.UNRECOGNIZED) return `${field}.access_mode is required`;
  const accessType = capability.block ? "block" : "mount";
  if (!SINGLE_NODE_MODES.has(mode) && !BLOCK_ONLY_MODES.has(mode)) {
    return `${field}.access_mode ${modeName(mode)} is not supported by this driver`;
  }
  if (accessType === "mount" && BLOCK_ONLY_MODES.has(mode)) {
    return `${field}.access_mode ${modeName(mode)} is supported for block volumes only (volumeMode: Block); several nodes must never mount one ext4/xfs filesystem`;
  }
  const fsType = capability.mount?.fsType ?? "";
  if (fsType !== "" && !isFsType(fsType)) return `${field}.mount.fs_type "${printableExcerpt(fsType)}" is not supported; use ext4, xfs or ext3`;
  return undefined;
}

/** The capability reduced to what the handlers need; InvalidArgumentError naming `field` when unsupported. */
export function checkCapability(capability: csi.VolumeCapability | undefined, field: string): CheckedCapability {
  const problem = capabilityProblem(capability, field);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  // capabilityProblem vouched for the capability and its access mode.
  const { accessMode, block, mount } = capability!;
  const fsType = mount?.fsType ?? "";
  return {
    mode: accessMode!.mode,
    accessType: block ? "block" : "mount",
    fsType: isFsType(fsType) ? fsType : undefined,
    mountFlags: mount?.mountFlags ?? [],
  };
}

/** A request's list of capabilities, each checked; an empty list is refused. */
export function checkCapabilities(capabilities: readonly csi.VolumeCapability[], field: string): CheckedCapability[] {
  if (capabilities.length === 0) throw new InvalidArgumentError(`${field} is required`);
  return capabilities.map((capability, i) => checkCapability(capability, `${field}[${i}]`));
}
