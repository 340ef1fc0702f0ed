import type { Logger } from "winston";
import { parseSizeArgument } from "./size-argument.js";
import type { AllowHostMode, CopyFromMode, DetailWrapMode, DiskBusyMode, ForeignDiskMode, LatencySettings } from "./settings.js";

export interface SimulatorOptions {
  /** where state.json and the backing files (`files/<pool>/...`) live; created if missing */
  readonly stateDir: string;
  /** SSH port on 127.0.0.1; 0 (default): any free port */
  readonly port?: number;
  /** control API port on 127.0.0.1; 0 (default): any free port */
  readonly controlPort?: number;
  /** the one login the RDS accepts; default `admin` */
  readonly user?: string;
  readonly password?: string;
  /** OpenSSH authorized_keys text (one or more entries per string) */
  readonly authorizedKeys?: string | readonly string[];
  /** host private key (OpenSSH or PEM); default: the persisted one, else a new ed25519 key */
  readonly hostKey?: string;
  /** the pool's slot and mount point, first component of every file path; default: persisted, else `raid10` */
  readonly poolName?: string;
  /** bytes, or a size such as `1T`; default: persisted, else 1 TiB */
  readonly poolSize?: number | string;
  /** the settings below override the persisted ones when given */
  readonly latency?: Partial<LatencySettings>;
  readonly copyFrom?: CopyFromMode;
  readonly diskBusy?: DiskBusyMode;
  readonly foreignDisks?: ForeignDiskMode;
  readonly allowHost?: AllowHostMode;
  readonly detailWrap?: DetailWrapMode;
  readonly errorExitStatus?: 0 | 1;
  /** default: a silent logger */
  readonly logger?: Logger;
  /** clock for file timestamps; default: the system clock */
  readonly now?: () => Date;
}

export const DEFAULT_USER = "admin";
export const DEFAULT_POOL_NAME = "raid10";
export const DEFAULT_POOL_SIZE = 1024 ** 4;

/** An option that cannot be used; the message names it. */
export class InvalidOptionError extends Error {
  override readonly name = "InvalidOptionError";
}

export interface CheckedOptions {
  readonly user: string;
  readonly poolName?: string;
  readonly poolSize?: number;
  readonly port: number;
  readonly controlPort: number;
}

/** Checks the options that have no other checker and fills in the defaults that do not depend on saved state. */
export function checkOptions(options: SimulatorOptions): CheckedOptions {
  const user = options.user ?? DEFAULT_USER;
  if (!/^[^\s+]+$/u.test(user)) throw new InvalidOptionError(`user ${JSON.stringify(user)}: must be non-empty, without spaces or "+"`);
  if (options.password === undefined && options.authorizedKeys === undefined) {
    throw new InvalidOptionError("password or authorizedKeys: at least one is needed, or nobody could log in");
  }
  const poolName = options.poolName;
  if (poolName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/u.test(poolName)) {
    throw new InvalidOptionError(`poolName ${JSON.stringify(poolName)}: letters, digits, ".", "_", "-", starting with a letter or digit`);
  }
  return {
    user,
    poolName,
    poolSize: options.poolSize === undefined ? undefined : checkPoolSize(options.poolSize),
    port: checkPort("port", options.port ?? 0),
    controlPort: checkPort("controlPort", options.controlPort ?? 0),
  };
}

function checkPoolSize(value: number | string): number {
  const size = typeof value === "number" ? value : Number(parseSizeArgument(value) ?? Number.NaN);
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new InvalidOptionError(`poolSize ${JSON.stringify(value)}: bytes or a size such as 1T, from 1 to 2^53-1 bytes`);
  }
  return size;
}

function checkPort(name: string, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidOptionError(`${name} ${port}: must be 0 … 65535`);
  return port;
}
