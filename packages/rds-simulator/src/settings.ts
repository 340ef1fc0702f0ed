/**
 * What `copy-from` does; the MikroTik manual only says it copies an item ("ID of item to make a copy
 * from"), so every plausible reading is a mode: nothing but the size (the default, so no test passes on
 * a hopeful reading); the data; the data in the background (the disk exists at once, its file grows
 * while the data is copied, then reaches the requested size); the data with `file-size` ignored (the
 * copy keeps the source's size).
 */
export const COPY_FROM_MODES = ["settings-only", "data", "data-in-background", "data-ignoring-size"] as const;
export type CopyFromMode = (typeof COPY_FROM_MODES)[number];

/**
 * Whether RouterOS refuses to remove or resize a disk while NVMe/TCP hosts are connected to it
 * (`failure: disk is busy`): not documented, so both are modes.
 */
export const DISK_BUSY_MODES = ["never", "while-connected"] as const;
export type DiskBusyMode = (typeof DISK_BUSY_MODES)[number];

/**
 * How `print detail` breaks a record that is wider than the console (the login's `<N>w`): not documented,
 * so every plausible way is a mode (format-print-detail.ts). `pairs`: a pair that does not fit moves to the
 * next line, a longer one is cut at the width (the RDS2216 samples break between pairs); `cut`: every line
 * filled to the width and cut there, inside keys and values alike; `words`: like `pairs`, but a pair longer
 * than a line is broken at its last space outside quotes that fits, that space dropped.
 */
export const DETAIL_WRAP_MODES = ["pairs", "cut", "words"] as const;
export type DetailWrapMode = (typeof DETAIL_WRAP_MODES)[number];

/**
 * Other people's disks beside the driver's: `rds2216` lists what a real RDS2216 holds besides the pool
 * (RAID members, the operator's own file disks, iSCSI/NFS/SMB exports, a disabled item, records with
 * missing or odd fields; see foreign-disks.ts); `none` only the pool.
 */
export const FOREIGN_DISK_MODES = ["rds2216", "none"] as const;
export type ForeignDiskMode = (typeof FOREIGN_DISK_MODES)[number];

/**
 * How `nvme-tcp-server-allow-host-name` is applied to NVMe/TCP connections: not at all; to new
 * connections only; or also by dropping live connections of hosts no longer allowed. What a real RDS
 * does is not documented, so the model is explicit and switchable.
 */
export const ALLOW_HOST_MODES = ["ignored", "enforce-new", "enforce-and-drop"] as const;
export type AllowHostMode = (typeof ALLOW_HOST_MODES)[number];

export interface LatencySettings {
  /** time every read-only command (`print`) takes, the simulator's own work included */
  readonly readMs: number;
  /** time every mutating command (`add`, `set`, `remove`) takes inside the one-at-a-time queue, its own work included */
  readonly mutateMs: number;
}

/** Behaviour that can change while the simulator runs; persisted with the state. */
export interface SimulatorSettings {
  readonly copyFrom: CopyFromMode;
  readonly diskBusy: DiskBusyMode;
  readonly foreignDisks: ForeignDiskMode;
  readonly allowHost: AllowHostMode;
  readonly detailWrap: DetailWrapMode;
  /** exit status of a command that printed an error; RouterOS cannot be relied on for one, so 0 by default */
  readonly errorExitStatus: 0 | 1;
  readonly latency: LatencySettings;
}

/** A partial change of the settings; values are checked at run time too, because they may come from JSON. */
export interface SettingsPatch {
  readonly copyFrom?: CopyFromMode;
  readonly diskBusy?: DiskBusyMode;
  readonly foreignDisks?: ForeignDiskMode;
  readonly allowHost?: AllowHostMode;
  readonly detailWrap?: DetailWrapMode;
  readonly errorExitStatus?: 0 | 1;
  readonly latency?: Partial<LatencySettings>;
}

export const DEFAULT_SETTINGS: SimulatorSettings = {
  copyFrom: "settings-only",
  diskBusy: "never",
  foreignDisks: "rds2216",
  allowHost: "ignored",
  detailWrap: "pairs",
  errorExitStatus: 0,
  latency: { readMs: 0, mutateMs: 0 },
};

/** A setting with a value outside its domain; the message names the setting. */
export class InvalidSettingError extends Error {
  override readonly name = "InvalidSettingError";
}

/** Applies a patch (from options, the control API or a state file) after checking every value. */
export function applySettingsPatch(base: SimulatorSettings, patch: SettingsPatch): SimulatorSettings {
  const latency: unknown = patch.latency;
  if (latency !== undefined && (typeof latency !== "object" || latency === null)) {
    throw new InvalidSettingError("latency must be an object with readMs and/or mutateMs");
  }
  return {
    copyFrom: oneOf("copyFrom", patch.copyFrom, COPY_FROM_MODES) ?? base.copyFrom,
    diskBusy: oneOf("diskBusy", patch.diskBusy, DISK_BUSY_MODES) ?? base.diskBusy,
    foreignDisks: oneOf("foreignDisks", patch.foreignDisks, FOREIGN_DISK_MODES) ?? base.foreignDisks,
    allowHost: oneOf("allowHost", patch.allowHost, ALLOW_HOST_MODES) ?? base.allowHost,
    detailWrap: oneOf("detailWrap", patch.detailWrap, DETAIL_WRAP_MODES) ?? base.detailWrap,
    errorExitStatus: oneOf("errorExitStatus", patch.errorExitStatus, [0, 1] as const) ?? base.errorExitStatus,
    latency: {
      readMs: milliseconds("latency.readMs", patch.latency?.readMs) ?? base.latency.readMs,
      mutateMs: milliseconds("latency.mutateMs", patch.latency?.mutateMs) ?? base.latency.mutateMs,
    },
  };
}

function oneOf<T extends string | number>(setting: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  const match = allowed.find((candidate) => candidate === value);
  if (match === undefined) throw new InvalidSettingError(`${setting} must be one of ${allowed.join(", ")}; got ${JSON.stringify(value)}`);
  return match;
}

function milliseconds(setting: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new InvalidSettingError(`${setting} must be a whole number of milliseconds >= 0; got ${JSON.stringify(value)}`);
  }
  return value;
}
