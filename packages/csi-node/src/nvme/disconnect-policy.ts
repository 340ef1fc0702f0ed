/**
 * Whether a volume's NVMe controller may be disconnected (STYLE §3, ceph-csi `disconnectIfLastMount`).
 * Pure: every input is gathered by the caller and passed in, so the rule is tested without nvme-cli.
 * An input the caller could not read is `undefined`, and then the answer is "no": a controller left
 * connected costs a little; one yanked from under a live mount loses data.
 */

export interface MountRef {
  readonly mountPoint: string;
  /** `MAJ:MIN` of the mounted device (mountinfo field 3) */
  readonly majorMinor: string;
  readonly source?: string;
  /**
   * `MAJ:MIN` a bind-mounted block device node points to (a raw block volume's NodePublish target):
   * mountinfo shows such a bind with the number of the filesystem holding the node (devtmpfs `0:N`),
   * never the device's own. null: the mount point is not a block device node; undefined: it could not
   * be stat'ed, so it may be one (see readMountRefs).
   */
  readonly boundDevice: string | null | undefined;
}

export interface StagedVolumeRef {
  readonly volumeId: string;
  readonly nqn: string;
}

export type DeviceState =
  /** the namespace head of the NQN, as resolved */
  | { readonly kind: "present"; readonly majorMinor: string; readonly devicePath: string }
  /** positively gone: no subsystem or namespace for the NQN in sysfs */
  | { readonly kind: "absent" };

export interface DisconnectInputs {
  /** the volume being unstaged (excluded from "other staged volumes") */
  readonly volumeId: string;
  readonly nqn: string;
  /** NQN prefix of the subsystems this driver manages; anything else is the host's own, never touched */
  readonly managedPrefix: string;
  readonly device: DeviceState | undefined;
  readonly mounts: readonly MountRef[] | undefined;
  /** entries of `block/<dev>/holders` (dm, md, …) */
  readonly holders: readonly string[] | undefined;
  /** an O_EXCL open of the device failed with EBUSY: mounted or claimed, in whatever mount namespace */
  readonly exclusivelyOpened: boolean | undefined;
  readonly stagedVolumes: readonly StagedVolumeRef[] | undefined;
}

export type DisconnectDecision =
  | { readonly disconnect: true }
  | { readonly disconnect: false; readonly reason: string; readonly unverifiable: boolean };

const keep = (reason: string, unverifiable = false): DisconnectDecision => ({ disconnect: false, reason, unverifiable });

/** A subsystem of this driver: anything else is the host's own (or another driver's), never touched. */
export function isManagedNqn(nqn: string, managedPrefix: string): boolean {
  return managedPrefix !== "" && nqn.startsWith(managedPrefix);
}

export function decideDisconnect(inputs: DisconnectInputs): DisconnectDecision {
  const { nqn, managedPrefix } = inputs;
  if (!isManagedNqn(nqn, managedPrefix)) return keep(`${nqn} does not carry the managed prefix ${JSON.stringify(managedPrefix)}`);
  if (inputs.stagedVolumes === undefined) return keep("the staged volumes could not be read", true);
  const others = inputs.stagedVolumes.filter((v) => v.nqn === nqn && v.volumeId !== inputs.volumeId);
  if (others.length > 0) return keep(`still staged for ${others.map((v) => v.volumeId).join(", ")}`);
  if (inputs.device === undefined) return keep("the device of the subsystem could not be resolved", true);
  if (inputs.device.kind === "absent") return { disconnect: true };
  const device = inputs.device;
  if (inputs.mounts === undefined) return keep("the mount table could not be read", true);
  const mounted = inputs.mounts.filter((m) => m.majorMinor === device.majorMinor || (m.source !== undefined && m.source === device.devicePath) || m.boundDevice === device.majorMinor);
  if (mounted.length > 0) return keep(`${device.devicePath} (${device.majorMinor}) is mounted at ${mounted.map((m) => m.mountPoint).join(", ")}`);
  const unknown = inputs.mounts.filter((m) => m.boundDevice === undefined);
  if (unknown.length > 0) return keep(`${unknown.map((m) => m.mountPoint).join(", ")} could not be stat'ed (a bind of ${device.devicePath}'s node?)`, true);
  if (inputs.holders === undefined) return keep(`the holders of ${device.devicePath} could not be read`, true);
  if (inputs.holders.length > 0) return keep(`${device.devicePath} is held by ${inputs.holders.join(", ")}`);
  if (inputs.exclusivelyOpened === undefined) return keep(`${device.devicePath} could not be opened to check for exclusive users`, true);
  if (inputs.exclusivelyOpened) return keep(`${device.devicePath} is in use (busy for an exclusive open: mounted or claimed outside this plugin's mount table)`);
  return { disconnect: true };
}
