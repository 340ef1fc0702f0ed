import { isIP } from "node:net";
import { InvalidArgumentError } from "../errors.js";
import { printableExcerpt } from "../routeros/printable-excerpt.js";
import { isFsType, type FsType } from "./fs-type.js";

/**
 * How the node treats mount options (a PV's `mountOptions`, a StorageClass's `mountOptions`):
 * `allow` passes them to mount; `forbid` refuses volumes that carry any, at CreateVolume and again at
 * the node, for classes whose operator wants every mount made with the driver's own options only.
 */
export const MOUNT_OPTIONS_POLICIES = ["allow", "forbid"] as const;
export type MountOptionsPolicy = (typeof MOUNT_OPTIONS_POLICIES)[number];

/** The driver's StorageClass parameter names; the Go driver's names, so its StorageClasses keep working. */
export const STORAGE_CLASS_PARAMETERS = {
  nvmePort: "nvmePort",
  nvmeAddress: "nvmeAddress",
  volumePath: "volumePath",
  ctrlLossTmo: "ctrlLossTmo",
  reconnectDelay: "reconnectDelay",
  keepAliveTmo: "keepAliveTmo",
  mountOptionsPolicy: "mountOptionsPolicy",
  /**
   * How long a raw block volume may stay on two nodes during a KubeVirt live migration. Its value is
   * the publish arbitration's to read and check (csi-controller `publish/migration-window.ts`); here
   * it is only a known key.
   */
  migrationWindowSeconds: "migrationWindowSeconds",
} as const;

/** Kubernetes' own parameter for the filesystem; external-provisioner usually moves it into the capability. */
export const FS_TYPE_PARAMETER = "csi.storage.k8s.io/fstype";

/**
 * Keys the CSI sidecars reserve (`csi.storage.k8s.io/fstype`, `.../provisioner-secret-name`,
 * `.../pvc/name` with --extra-create-metadata, ...); they are never a user's mistake.
 */
const SIDECAR_PREFIX = "csi.storage.k8s.io/";

/** A volume's settings from its StorageClass, with defaults applied; all but the port reach only the node. */
export interface VolumeParameters {
  /** From `csi.storage.k8s.io/fstype` when the CO left it among the parameters. */
  readonly fsType: FsType | undefined;
  readonly nvmePort: number;
  readonly nvmeAddress: string;
  /** Seconds the kernel keeps reconnecting a lost controller before failing I/O; -1 = forever. */
  readonly ctrlLossTmo: number;
  readonly reconnectDelay: number;
  /** 0 = the kernel's default. */
  readonly keepAliveTmo: number;
  readonly mountOptionsPolicy: MountOptionsPolicy;
}

/** What the controller's own configuration supplies. */
export interface ParameterDefaults {
  readonly nvmePort: number;
  readonly nvmeAddress: string;
  readonly basePath: string;
}

/**
 * Node-side defaults. ctrl_loss_tmo is finite on purpose (the earlier Go driver used -1): 30 minutes
 * rides through an RDS reboot or a long network blip with I/O merely stalled, but an outage beyond that
 * fails I/O instead of hanging every process on the node forever, and a partitioned node cannot resume
 * writing to a volume that has moved on after fencing. -1 stays available per StorageClass.
 */
export const NODE_PARAMETER_DEFAULTS = Object.freeze({
  ctrlLossTmo: 1800,
  reconnectDelay: 5,
  keepAliveTmo: 0,
  mountOptionsPolicy: "allow" as MountOptionsPolicy,
});

/**
 * Ranges of the `nvme connect` settings, in seconds: the one place they are written. The StorageClass
 * parser, the node's volume-context reader and the staging-metadata reader all check against these.
 */
export const CONNECT_SETTING_RANGES = Object.freeze({
  ctrlLossTmo: { min: -1, max: 86_400 },
  reconnectDelay: { min: 1, max: 3_600 },
  keepAliveTmo: { min: 0, max: 3_600 },
});

/** Keys that are neither ours nor reserved for the sidecars, sorted; what an INVALID_ARGUMENT must name. */
export function unknownParameterKeys(parameters: Readonly<Record<string, string>>, known: readonly string[]): string[] {
  return Object.keys(parameters)
    .filter((key) => !key.startsWith(SIDECAR_PREFIX) && !known.includes(key))
    .sort();
}

/**
 * Parses a CreateVolume's (or GetCapacity's) parameters. Every problem is collected into one
 * INVALID_ARGUMENT naming each parameter, so an operator fixes a StorageClass in one round. Values are
 * never silently replaced by a default (the Go driver turned an unparsable port into 4420).
 */
export function parseStorageClassParameters(parameters: Readonly<Record<string, string>>, defaults: ParameterDefaults): VolumeParameters {
  const problems: string[] = [];
  const unknown = unknownParameterKeys(parameters, Object.values(STORAGE_CLASS_PARAMETERS));
  if (unknown.length > 0) {
    problems.push(`unknown parameter${unknown.length > 1 ? "s" : ""} ${unknown.map((key) => printableExcerpt(key)).join(", ")} (known: ${Object.values(STORAGE_CLASS_PARAMETERS).join(", ")})`);
  }
  const names = STORAGE_CLASS_PARAMETERS;
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const raw = parameters[key];
    if (raw === undefined) return fallback;
    if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`parameters.${key} "${printableExcerpt(raw)}" must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  };
  const fsType = parameters[FS_TYPE_PARAMETER];
  if (fsType !== undefined && !isFsType(fsType)) {
    problems.push(`parameters.${FS_TYPE_PARAMETER} "${printableExcerpt(fsType)}" is not supported; use ext4, xfs or ext3`);
  }
  const nvmeAddress = parameters[names.nvmeAddress] ?? defaults.nvmeAddress;
  if (isIP(nvmeAddress) === 0) {
    problems.push(`parameters.${names.nvmeAddress} "${printableExcerpt(nvmeAddress)}" must be an IPv4 or IPv6 address (nvme connect takes no host names)`);
  }
  const volumePath = parameters[names.volumePath];
  if (volumePath !== undefined && volumePath !== defaults.basePath) {
    problems.push(
      `parameters.${names.volumePath} "${printableExcerpt(volumePath)}" differs from the controller's base path ${defaults.basePath}; one controller keeps all its volumes in one base path (--rds-base-path)`,
    );
  }
  const policy = parameters[names.mountOptionsPolicy] ?? NODE_PARAMETER_DEFAULTS.mountOptionsPolicy;
  if (!(MOUNT_OPTIONS_POLICIES as readonly string[]).includes(policy)) {
    problems.push(`parameters.${names.mountOptionsPolicy} "${printableExcerpt(policy)}" must be one of ${MOUNT_OPTIONS_POLICIES.join(", ")}`);
  }
  const result: VolumeParameters = {
    fsType: fsType !== undefined && isFsType(fsType) ? fsType : undefined,
    nvmePort: int(names.nvmePort, defaults.nvmePort, 1, 65_535),
    nvmeAddress,
    ctrlLossTmo: int(names.ctrlLossTmo, NODE_PARAMETER_DEFAULTS.ctrlLossTmo, CONNECT_SETTING_RANGES.ctrlLossTmo.min, CONNECT_SETTING_RANGES.ctrlLossTmo.max),
    reconnectDelay: int(names.reconnectDelay, NODE_PARAMETER_DEFAULTS.reconnectDelay, CONNECT_SETTING_RANGES.reconnectDelay.min, CONNECT_SETTING_RANGES.reconnectDelay.max),
    keepAliveTmo: int(names.keepAliveTmo, NODE_PARAMETER_DEFAULTS.keepAliveTmo, CONNECT_SETTING_RANGES.keepAliveTmo.min, CONNECT_SETTING_RANGES.keepAliveTmo.max),
    mountOptionsPolicy: policy as MountOptionsPolicy,
  };
  if (problems.length > 0) throw new InvalidArgumentError(`invalid StorageClass parameters: ${problems.join("; ")}`);
  return result;
}
