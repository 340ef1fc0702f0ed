import { InvalidArgumentError } from "../errors.js";
import { validateNqnOf } from "../nvme/nqn.js";
import { printableExcerpt } from "./printable-excerpt.js";

/**
 * Validators for every kind of value the driver writes into a RouterOS command, one per row of the
 * grammar table in docs/design/routeros-protocol.md. Each returns its input unchanged when it is
 * valid and otherwise throws InvalidArgumentError naming the kind and showing the offending value
 * (escaped and truncated, so the message itself is safe to log and to return to a CSI caller).
 * Quoting (routeros-quote.ts) is applied afterwards; these grammars are narrow on purpose so that a
 * value is also harmless in logs, file names and regular expressions.
 */

const SLOT = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,126}[A-Za-z0-9])?$/;
const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

const MAX_PATH_BYTES = 255;
const MAX_COMMENT_BYTES = 255;
const MAX_SIZE_BYTES = 2n ** 63n - 1n;

export function validateSlot(value: string): string {
  if (!SLOT.test(value)) {
    throw invalid("slot", value, "must be 1-128 letters, digits and inner dashes");
  }
  return value;
}

/** An absolute file path on the RDS, e.g. `/raid10/vols/pvc-1.img`. */
export function validateFilePath(value: string): string {
  if (Buffer.byteLength(value, "utf8") > MAX_PATH_BYTES) {
    throw invalid("file path", value, `must be at most ${MAX_PATH_BYTES} bytes`);
  }
  if (!value.startsWith("/")) throw invalid("file path", value, "must be absolute");
  for (const segment of value.slice(1).split("/")) {
    if (!isPathSegment(segment)) {
      throw invalid("file path", value, "segments must be letters, digits, '.', '_' or '-', and not empty, '.' or '..'");
    }
  }
  return value;
}

/** A pool: the mount point of the RDS filesystem holding the volumes, the first segment of the base path. */
export function validatePool(value: string): string {
  if (!isPathSegment(value) || Buffer.byteLength(value, "utf8") > MAX_PATH_BYTES) {
    throw invalid("pool", value, "must be one path segment of letters, digits, '.', '_' or '-'");
  }
  return value;
}

/** The grammar is core/nvme/nqn.ts's, shared with every other reader and writer of NQNs. */
export function validateNqn(value: string): string {
  return validateNqnOf("NQN", value);
}

export function validateSize(bytes: bigint): bigint {
  if (bytes < 1n || bytes > MAX_SIZE_BYTES) {
    throw new InvalidArgumentError(`invalid size ${bytes}: must be between 1 and ${MAX_SIZE_BYTES} bytes`);
  }
  return bytes;
}

export function validatePort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`invalid port ${port}: must be an integer between 1 and 65535`);
  }
  return port;
}

/**
 * The hosts allowed to connect to an export: host NQNs, written as one comma-separated value. An empty
 * list is the empty string, which RouterOS reads as "any host".
 */
export function validateHostNqns(nqns: readonly string[]): string {
  for (const nqn of nqns) validateNqnOf("host NQN", nqn);
  return nqns.join(",");
}

/**
 * Printable ASCII only: the driver's own comments are ASCII, and how RouterOS prints other bytes back
 * on a `;;;` line is not documented, so a comment we write is one we can read back unchanged.
 */
export function validateComment(value: string): string {
  if (value.length > MAX_COMMENT_BYTES) throw invalid("comment", value, `must be at most ${MAX_COMMENT_BYTES} bytes`);
  if (!PRINTABLE_ASCII.test(value)) throw invalid("comment", value, "must be printable ASCII");
  return value;
}

function isPathSegment(segment: string): boolean {
  return PATH_SEGMENT.test(segment) && segment !== "." && segment !== "..";
}

function invalid(kind: string, value: string, rule: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid ${kind} "${printableExcerpt(value)}": ${rule}`);
}
