import type { Writable } from "node:stream";
import winston from "winston";
import { InvalidArgumentError } from "../errors.js";

/** The levels a service may be configured with; use with `enumSetting` for the log-level setting. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;

export type Logger = winston.Logger;

export interface LoggerOptions {
  /** one of LOG_LEVELS; a string so a raw setting can be passed and checked here */
  readonly level: string;
  /** which service or module writes the line (e.g. "csi-controller") */
  readonly component: string;
  /** where JSON lines go; stdout unless a test captures them */
  readonly stream?: Writable;
}

/** JSON lines (timestamp, level, message, component, metadata), one logger per process, passed down. */
export function createLogger(options: LoggerOptions): Logger {
  const level = LOG_LEVELS.find((known) => known === options.level);
  if (level === undefined) {
    throw new InvalidArgumentError(`log level "${options.level}" is not one of ${LOG_LEVELS.join(", ")}`);
  }
  return winston.createLogger({
    level,
    defaultMeta: { component: options.component },
    format: winston.format.combine(errorsAsObjects(), winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stdout })],
  });
}

// JSON.stringify turns an Error into {} because its fields are not enumerable; keep what a reader needs.
const errorsAsObjects = winston.format((info) => {
  for (const [key, value] of Object.entries(info)) {
    if (value instanceof Error) info[key] = { name: value.name, message: value.message, stack: value.stack };
  }
  return info;
});
