import { InvalidArgumentError } from "../errors.js";
import { isFsType, type FsType } from "./fs-type.js";
import { CONNECT_SETTING_RANGES, MOUNT_OPTIONS_POLICIES, NODE_PARAMETER_DEFAULTS, type MountOptionsPolicy, type VolumeParameters } from "./storage-class-parameters.js";

/**
 * The keys of a volume's context (the PV's `volumeAttributes`): what the node needs to connect and
 * mount. Written by the controller at CreateVolume (`volumeContext`), read by the node
 * (`parseVolumeContext`); both import these names. The connection keys
 * keep the earlier Go driver's names, so the node can stage the volumes it created too.
 */
export const VOLUME_CONTEXT_KEYS = {
  nvmeAddress: "nvmeAddress",
  nvmePort: "nvmePort",
  nqn: "nqn",
  fsType: "fsType",
  ctrlLossTmo: "ctrlLossTmo",
  reconnectDelay: "reconnectDelay",
  keepAliveTmo: "keepAliveTmo",
  mountOptionsPolicy: "mountOptionsPolicy",
} as const;

/**
 * The context of a volume as the RDS exports it (`nqn`, `port` read back from the RDS) with its
 * StorageClass's node settings; `fsType` only for a volume requested with a filesystem.
 */
export function volumeContext(exported: { readonly nqn: string; readonly port: number }, parameters: VolumeParameters, fsType: FsType | undefined): Record<string, string> {
  const keys = VOLUME_CONTEXT_KEYS;
  return {
    [keys.nvmeAddress]: parameters.nvmeAddress,
    [keys.nvmePort]: String(exported.port),
    [keys.nqn]: exported.nqn,
    ...(fsType ? { [keys.fsType]: fsType } : {}),
    [keys.ctrlLossTmo]: String(parameters.ctrlLossTmo),
    [keys.reconnectDelay]: String(parameters.reconnectDelay),
    [keys.keepAliveTmo]: String(parameters.keepAliveTmo),
    [keys.mountOptionsPolicy]: parameters.mountOptionsPolicy,
  };
}

/** Volumes of the earlier Go driver may carry only `rdsAddress`, which its node used when `nvmeAddress` was absent. */
const GO_DRIVER_ADDRESS_KEY = "rdsAddress";

/**
 * The NVMe/TCP address a volume context names (the controller's publish reads it): `nvmeAddress`,
 * else the earlier Go driver's `rdsAddress`; undefined when it names none.
 */
export function nvmeAddressOf(context: Readonly<Record<string, string>>): string | undefined {
  return context[VOLUME_CONTEXT_KEYS.nvmeAddress] || context[GO_DRIVER_ADDRESS_KEY] || undefined;
}

/** The `nvme connect` settings of a volume, in seconds (-1 ctrlLossTmo: the kernel retries forever). */
export interface ConnectSettings {
  readonly ctrlLossTmo: number;
  readonly reconnectDelay: number;
  readonly keepAliveTmo: number;
}

/** What the node reads from a volume context (the address, port and NQN come from the publish context). */
export interface NodeVolumeContext {
  /** Undefined for a raw block volume, and for volumes of the earlier Go driver that did not record it. */
  readonly fsType: FsType | undefined;
  readonly connect: ConnectSettings;
  readonly mountOptionsPolicy: MountOptionsPolicy;
}

/**
 * Reads a volume context as `volumeContext` wrote it. A key that is absent (a volume of the earlier Go
 * driver, or one created before the key existed) takes the StorageClass default; a key that is present
 * with a bad value is INVALID_ARGUMENT naming it, never silently replaced.
 */
export function parseVolumeContext(context: Readonly<Record<string, string>>): NodeVolumeContext {
  const keys = VOLUME_CONTEXT_KEYS;
  const present = (key: string): string | undefined => {
    const raw = context[key];
    return raw === undefined || raw === "" ? undefined : raw;
  };
  const int = (key: keyof typeof CONNECT_SETTING_RANGES): number => {
    const raw = present(keys[key]);
    if (raw === undefined) return NODE_PARAMETER_DEFAULTS[key];
    const { min, max } = CONNECT_SETTING_RANGES[key];
    const value = /^-?\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(value >= min && value <= max)) throw new InvalidArgumentError(`volume_context "${keys[key]}" must be an integer from ${min} to ${max}, got ${JSON.stringify(raw.slice(0, 32))}`);
    return value;
  };
  const fsType = present(keys.fsType);
  if (fsType !== undefined && !isFsType(fsType)) throw new InvalidArgumentError(`volume_context "${keys.fsType}" ${JSON.stringify(fsType.slice(0, 32))} is not supported; use ext4, xfs or ext3`);
  const policy = present(keys.mountOptionsPolicy) ?? NODE_PARAMETER_DEFAULTS.mountOptionsPolicy;
  if (!(MOUNT_OPTIONS_POLICIES as readonly string[]).includes(policy)) {
    throw new InvalidArgumentError(`volume_context "${keys.mountOptionsPolicy}" must be one of ${MOUNT_OPTIONS_POLICIES.join(", ")}, got ${JSON.stringify(policy.slice(0, 32))}`);
  }
  return {
    fsType,
    connect: { ctrlLossTmo: int("ctrlLossTmo"), reconnectDelay: int("reconnectDelay"), keepAliveTmo: int("keepAliveTmo") },
    mountOptionsPolicy: policy as MountOptionsPolicy,
  };
}
