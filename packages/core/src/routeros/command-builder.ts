import { quoteRouterOs } from "./routeros-quote.js";
import {
  validateComment,
  validateFilePath,
  validateHostNqns,
  validateNqn,
  validatePool,
  validatePort,
  validateSize,
  validateSlot,
} from "./routeros-value.js";

/**
 * The only code that makes RouterOS command strings: one function per row of the command table in
 * docs/design/routeros-protocol.md. Every value is validated for its kind and then quoted; only numbers
 * and `yes`/`no` are written bare. Nothing else in the driver concatenates command text.
 *
 * Reads ask for `print terse`: one record per line, never wrapped at the console width (RouterOS
 * console, print options; how `print detail` wraps is not documented), so no record can be broken
 * inside a key or a value.
 */

/** A bounded label for metrics and logs, one per kind of command (never a slot or a path). */
export type RouterOsVerb =
  | "disk-print"
  | "disk-add"
  | "disk-copy"
  | "disk-resize"
  | "disk-set-allowed-hosts"
  | "disk-remove"
  | "file-print"
  | "file-remove";

export interface RouterOsCommand {
  readonly text: string;
  readonly verb: RouterOsVerb;
  /** Mutating commands are serialized per RDS and their effect is read back. */
  readonly mutates: boolean;
}

/** How a disk is exported over NVMe/TCP; snapshots are not exported. */
export interface NvmeTcpExport {
  readonly port: number;
  readonly nqn: string;
  /**
   * The export's allow-list from the moment it exists, written in the same `/disk add` so there is no
   * window in which it admits any host. Absent or empty: RouterOS's default, any host.
   */
  readonly allowedHosts?: readonly string[];
}

export interface AddDiskArgs {
  readonly slot: string;
  /** Absolute, e.g. `/raid10/vols/pvc-1.img`. */
  readonly filePath: string;
  readonly sizeBytes: bigint;
  readonly export?: NvmeTcpExport;
  readonly comment: string;
}

export interface CopyDiskArgs extends AddDiskArgs {
  readonly sourceSlot: string;
}

export function printDiskBySlot(slot: string): RouterOsCommand {
  return read("disk-print", `/disk print terse where slot=${quoteRouterOs(validateSlot(slot))}`);
}

/** The disks (of any slot) whose file is `path`: a file a disk uses is never removed. */
export function printDisksUsingFile(path: string): RouterOsCommand {
  return read("disk-print", `/disk print terse where file-path=${quoteRouterOs(validateFilePath(path))}`);
}

export function printFileDisks(): RouterOsCommand {
  return read("disk-print", '/disk print terse where type="file"');
}

/** The pool's own disk record, which carries its size and free space. */
export function printPool(pool: string): RouterOsCommand {
  return read("disk-print", `/disk print terse where mount-point=${quoteRouterOs(validatePool(pool))}`);
}

export function addDisk(args: AddDiskArgs): RouterOsCommand {
  return write(
    "disk-add",
    [
      "/disk add type=file",
      `slot=${quoteRouterOs(validateSlot(args.slot))}`,
      `file-path=${quoteRouterOs(validateFilePath(args.filePath))}`,
      `file-size=${validateSize(args.sizeBytes)}`,
      ...exportArguments(args.export),
      `comment=${quoteRouterOs(validateComment(args.comment))}`,
    ],
  );
}

/** A new disk whose file is a copy of another disk's file: snapshot, restore and clone. */
export function copyDisk(args: CopyDiskArgs): RouterOsCommand {
  return write(
    "disk-copy",
    [
      "/disk add type=file",
      `slot=${quoteRouterOs(validateSlot(args.slot))}`,
      `file-path=${quoteRouterOs(validateFilePath(args.filePath))}`,
      `copy-from=${findSlot(args.sourceSlot)}`,
      `file-size=${validateSize(args.sizeBytes)}`,
      ...exportArguments(args.export),
      `comment=${quoteRouterOs(validateComment(args.comment))}`,
    ],
  );
}

export function resizeDisk(slot: string, sizeBytes: bigint): RouterOsCommand {
  return write("disk-resize", ["/disk set", findSlot(slot), `file-size=${validateSize(sizeBytes)}`]);
}

/** Replaces the export's allow-list; an empty list lets any host connect. */
export function setAllowedHosts(slot: string, hostNqns: readonly string[]): RouterOsCommand {
  return write("disk-set-allowed-hosts", [
    "/disk set",
    findSlot(slot),
    `nvme-tcp-server-allow-host-name=${quoteRouterOs(validateHostNqns(hostNqns))}`,
  ]);
}

/** Removes the disk item only; RouterOS keeps its file (see removeFile). */
export function removeDisk(slot: string): RouterOsCommand {
  return write("disk-remove", ["/disk remove", findSlot(slot)]);
}

export function printFile(path: string): RouterOsCommand {
  return read("file-print", `/file print terse where name=${quoteRouterOs(fileName(path))}`);
}

/** Every file and directory below `dir`, at any depth (not `dir` itself). */
export function printFilesUnder(dir: string): RouterOsCommand {
  const pattern = `^${escapeRegex(fileName(dir))}/`;
  return read("file-print", `/file print terse where name~${quoteRouterOs(pattern)}`);
}

export function removeFile(path: string): RouterOsCommand {
  return write("file-remove", [`/file remove [find name=${quoteRouterOs(fileName(path))}]`]);
}

function exportArguments(nvmeExport: NvmeTcpExport | undefined): string[] {
  if (!nvmeExport) return [];
  return [
    "nvme-tcp-export=yes",
    `nvme-tcp-server-port=${validatePort(nvmeExport.port)}`,
    `nvme-tcp-server-nqn=${quoteRouterOs(validateNqn(nvmeExport.nqn))}`,
    ...(nvmeExport.allowedHosts?.length ? [`nvme-tcp-server-allow-host-name=${quoteRouterOs(validateHostNqns(nvmeExport.allowedHosts))}`] : []),
  ];
}

function findSlot(slot: string): string {
  return `[find slot=${quoteRouterOs(validateSlot(slot))}]`;
}

/** RouterOS file names have no leading `/`. */
function fileName(path: string): string {
  return validateFilePath(path).slice(1);
}

/**
 * `~` matches a POSIX extended regular expression. A validated path can only hold `.` among the
 * metacharacters, but escaping them all keeps this correct if the path grammar ever widens. The
 * backslashes are then escaped again by quoting, and RouterOS's string decoding hands `\.` to the regex.
 */
function escapeRegex(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");
}

function read(verb: RouterOsVerb, text: string): RouterOsCommand {
  return { text, verb, mutates: false };
}

function write(verb: RouterOsVerb, parts: readonly string[]): RouterOsCommand {
  return { text: parts.join(" "), verb, mutates: true };
}
