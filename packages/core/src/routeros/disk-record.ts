import { InternalError } from "../errors.js";
import type { RouterOsRecord } from "./parse-print-detail.js";
import { parseApproximateBytes, parseExactBytes } from "./parse-size.js";
import { printableExcerpt } from "./printable-excerpt.js";

/**
 * Typed views of `print detail` records. Each reads only the fields it needs, by exact key, and only the
 * exact byte counts (`size=`, `free=`), never the rounded `file-size=`. A record without a field we need,
 * or with a value we cannot read, is an InternalError naming the field: the RDS answered something the
 * driver cannot act on safely.
 */

/** A `/disk` item: a file-backed volume or snapshot, or any other disk the RDS lists. */
export interface Disk {
  readonly slot: string;
  /** `file`, `raid`, `partition`, … */
  readonly type: string;
  /** Absolute; only file-backed disks have one. */
  readonly filePath?: string;
  readonly sizeBytes: bigint;
  readonly nvmeExport: boolean;
  readonly nvmePort?: number;
  readonly nqn?: string;
  /** Host NQNs allowed to connect; empty means any host. */
  readonly allowedHosts: string[];
  readonly comment?: string;
  readonly flags: string;
}

/** The disk that holds the volume files: its record carries the filesystem's size and free space. */
export interface Pool {
  readonly slot: string;
  readonly mountPoint: string;
  readonly sizeBytes: bigint;
  readonly freeBytes: bigint;
}

/** A `/file` item. */
export interface RdsFile {
  /** With a leading `/`, as the driver names files (RouterOS prints it without). */
  readonly path: string;
  /** `directory`, `.img file`, … */
  readonly type: string;
  /**
   * Absent for directories. RouterOS 7 prints a file's size rounded (`size=10.0GiB`, MikroTik manual,
   * "Files"), so this is only near the real size: for reports, never for a decision.
   */
  readonly approximateSizeBytes?: bigint;
}

export function toDisk(record: RouterOsRecord): Disk {
  const filePath = record.fields.get("file-path");
  const port = record.fields.get("nvme-tcp-server-port");
  const nqn = record.fields.get("nvme-tcp-server-nqn");
  const allowed = record.fields.get("nvme-tcp-server-allow-host-name") ?? "";
  // `print detail` shows a comment on a `;;;` line, `print terse` as a leading `comment=` pair.
  const comment = record.comment ?? record.fields.get("comment");
  return {
    slot: required(record, "slot"),
    type: required(record, "type"),
    ...(filePath ? { filePath } : {}),
    sizeBytes: bytes(record, "size"),
    // RouterOS leaves the nvme-tcp-* fields out on disks that were never exported.
    nvmeExport: yesNo(record, "nvme-tcp-export"),
    ...(port !== undefined ? { nvmePort: portNumber(record, port) } : {}),
    ...(nqn ? { nqn } : {}),
    allowedHosts: allowed === "" ? [] : allowed.split(","),
    ...(comment !== undefined ? { comment } : {}),
    flags: record.flags,
  };
}

export function toPool(record: RouterOsRecord): Pool {
  return {
    slot: required(record, "slot"),
    mountPoint: required(record, "mount-point"),
    sizeBytes: bytes(record, "size"),
    freeBytes: bytes(record, "free"),
  };
}

export function toFile(record: RouterOsRecord): RdsFile {
  const name = required(record, "name");
  const size = record.fields.get("size");
  return {
    path: `/${name}`,
    type: required(record, "type"),
    ...(size !== undefined ? { approximateSizeBytes: parseApproximateBytes(size, fieldName(record, "size")) } : {}),
  };
}

function required(record: RouterOsRecord, key: string): string {
  const value = record.fields.get(key);
  if (value === undefined) {
    throw new InternalError(`${fieldName(record, key)} is missing`);
  }
  return value;
}

function bytes(record: RouterOsRecord, key: string): bigint {
  return parseExactBytes(required(record, key), fieldName(record, key));
}

function yesNo(record: RouterOsRecord, key: string): boolean {
  const value = record.fields.get(key) ?? "no";
  if (value !== "yes" && value !== "no") throw unreadable(record, key, value);
  return value === "yes";
}

function portNumber(record: RouterOsRecord, value: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) throw unreadable(record, "nvme-tcp-server-port", value);
  return port;
}

function unreadable(record: RouterOsRecord, key: string, value: string): InternalError {
  return new InternalError(`${fieldName(record, key)} is unreadable: "${printableExcerpt(value)}"`);
}

function fieldName(record: RouterOsRecord, key: string): string {
  return `RouterOS record ${record.index} field "${key}"`;
}
