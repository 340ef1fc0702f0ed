import {
  ALLOW_HOST_MODES,
  COPY_FROM_MODES,
  DETAIL_WRAP_MODES,
  DISK_BUSY_MODES,
  FOREIGN_DISK_MODES,
  type AllowHostMode,
  type CopyFromMode,
  type DetailWrapMode,
  type DiskBusyMode,
  type ForeignDiskMode,
} from "./settings.js";

const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What `rds-sim`'s flags ask for; key files are read by the caller. */
export interface CliArguments {
  readonly help: boolean;
  readonly stateDir: string;
  readonly port: number;
  readonly controlPort: number;
  readonly user?: string;
  readonly password?: string;
  readonly authorizedKeyFiles: readonly string[];
  readonly poolName?: string;
  readonly poolSize?: string;
  readonly copyFrom?: CopyFromMode;
  readonly diskBusy?: DiskBusyMode;
  readonly foreignDisks?: ForeignDiskMode;
  readonly allowHost?: AllowHostMode;
  readonly detailWrap?: DetailWrapMode;
  readonly latencyReadMs?: number;
  readonly latencyMutateMs?: number;
  readonly errorExitStatus?: 0 | 1;
  readonly logLevel: LogLevel;
}

/** A flag that cannot be used; the message names it. */
export class CliUsageError extends Error {
  override readonly name = "CliUsageError";
}

export const USAGE = `usage: rds-sim --state-dir DIR [options]

  --state-dir DIR            state.json and backing files (required)
  --port N                   SSH port on 127.0.0.1 (default 2222; 0: any free port)
  --control-port N           control API port on 127.0.0.1 (default 0: any free port)
  --user NAME                login name (default admin)
  --password TEXT            accept this password
  --authorized-key FILE      accept the keys in this authorized_keys file (repeatable)
  --pool NAME                pool name and mount point (default raid10)
  --pool-size SIZE           pool size, bytes or with K/M/G/T (default 1T)
  --copy-from MODE           settings-only | data | data-in-background | data-ignoring-size
  --disk-busy MODE           never | while-connected (remove/resize refused while NVMe/TCP hosts are connected)
  --foreign-disks MODE       rds2216 | none (other people's disks listed beside the driver's)
  --allow-host MODE          ignored | enforce-new | enforce-and-drop
  --detail-wrap MODE         pairs | cut | words (how print detail breaks a record wider than the console)
  --latency-read DURATION    time each read command takes, e.g. 0ms, 1s
  --latency-mutate DURATION  time each mutating command takes, e.g. 20ms
  --error-exit-status 0|1    exit status of a command that printed an error
  --log-level LEVEL          error | warn | info | debug (default info), JSON lines on stderr
  --help                     print this text
`;

const VALUE_FLAGS = new Set([
  "state-dir",
  "port",
  "control-port",
  "user",
  "password",
  "authorized-key",
  "pool",
  "pool-size",
  "copy-from",
  "disk-busy",
  "foreign-disks",
  "allow-host",
  "detail-wrap",
  "latency-read",
  "latency-mutate",
  "error-exit-status",
  "log-level",
]);

/** Reads `--flag value` and `--flag=value`; every value is checked here, so a bad flag stops start-up by name. */
export function parseCliArguments(argv: readonly string[]): CliArguments {
  const values = new Map<string, string[]>();
  let help = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const match = /^--([a-z-]+)(?:=(.*))?$/su.exec(arg);
    if (match === null) throw new CliUsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const name = match[1]!;
    if (name === "help" && match[2] === undefined) {
      help = true;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw new CliUsageError(`unknown flag --${name}`);
    let value = match[2];
    if (value === undefined) {
      i += 1;
      value = argv[i];
      if (value === undefined) throw new CliUsageError(`--${name} needs a value`);
    }
    const earlier = values.get(name) ?? [];
    if (earlier.length > 0 && name !== "authorized-key") throw new CliUsageError(`--${name} given more than once`);
    values.set(name, [...earlier, value]);
  }
  const single = (name: string): string | undefined => values.get(name)?.[0];
  const stateDir = single("state-dir");
  if (!help && stateDir === undefined) throw new CliUsageError("--state-dir is required");
  const exitStatus = oneOf("error-exit-status", single("error-exit-status"), ["0", "1"] as const);
  return {
    help,
    stateDir: stateDir ?? "",
    port: port("port", single("port") ?? "2222"),
    controlPort: port("control-port", single("control-port") ?? "0"),
    user: single("user"),
    password: single("password"),
    authorizedKeyFiles: values.get("authorized-key") ?? [],
    poolName: single("pool"),
    poolSize: single("pool-size"),
    copyFrom: oneOf("copy-from", single("copy-from"), COPY_FROM_MODES),
    diskBusy: oneOf("disk-busy", single("disk-busy"), DISK_BUSY_MODES),
    foreignDisks: oneOf("foreign-disks", single("foreign-disks"), FOREIGN_DISK_MODES),
    allowHost: oneOf("allow-host", single("allow-host"), ALLOW_HOST_MODES),
    detailWrap: oneOf("detail-wrap", single("detail-wrap"), DETAIL_WRAP_MODES),
    latencyReadMs: duration("latency-read", single("latency-read")),
    latencyMutateMs: duration("latency-mutate", single("latency-mutate")),
    errorExitStatus: exitStatus === undefined ? undefined : exitStatus === "1" ? 1 : 0,
    logLevel: oneOf("log-level", single("log-level"), LOG_LEVELS) ?? "info",
  };
}

function port(name: string, text: string): number {
  if (!/^\d+$/u.test(text) || Number(text) > 65535) throw new CliUsageError(`--${name} ${text}: must be 0 … 65535`);
  return Number(text);
}

function oneOf<T extends string>(name: string, text: string | undefined, allowed: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  const match = allowed.find((candidate) => candidate === text);
  if (match === undefined) throw new CliUsageError(`--${name} ${text}: must be one of ${allowed.join(", ")}`);
  return match;
}

/** `250`, `250ms` or `2s`, in milliseconds. */
function duration(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)(ms|s)?$/u.exec(text);
  if (match === null) throw new CliUsageError(`--${name} ${text}: a duration such as 20ms or 1s`);
  return Number(match[1]) * (match[2] === "s" ? 1000 : 1);
}
