import { InvalidArgumentError } from "../errors.js";
import { printableExcerpt } from "../routeros/printable-excerpt.js";
import { CSI_MAP_FIELD_NAMES } from "./generated/map-fields.js";

/**
 * How long a request's text may be, checked for every request before its handler runs (docs/request-limits.md).
 * The CSI spec ("Size Limits") allows 128 bytes per string and 4 KiB per map<string, string>, lets path
 * fields reach the operating system's limit and node_id 256 bytes. We accept more than the spec's
 * general limits, so that a CO that exceeds them a little (a long mount option, an extra parameter) is
 * not refused, and far less than a value that would make the answer itself a burden.
 */
export const REQUEST_LIMITS = {
  /** Any string field, each repeated element, each map key and each map value. */
  stringBytes: 1024,
  /** staging_target_path, target_path, volume_path: Linux's PATH_MAX. */
  pathBytes: 4096,
  /** All keys and values of one map together. */
  mapBytes: 16 * 1024,
  /**
   * A whole request message. gRPC holds a message whole before any of our checks can run, so what one
   * in-flight request costs is bounded only here: a message costs several times its size (socket and
   * HTTP/2 buffers, gRPC's reassembly, the decoded text) until the next collection, and 32 requests with
   * 1 MiB values in flight took the controller from ~90 to ~153 MB RSS (malformed-soak bench). 256 KiB is four times
   * the largest request the limits above admit (three full maps and two paths); a larger message is
   * refused by gRPC from its length prefix, before its body is read, with RESOURCE_EXHAUSTED — gRPC's
   * own answer for an over-size message (grpc-go and grpc-java answer the same).
   */
  messageBytes: 256 * 1024,
} as const;

const PATH_FIELDS: ReadonlySet<string> = new Set(["stagingTargetPath", "targetPath", "volumePath"]);

/** Throws INVALID_ARGUMENT naming the first field of a decoded CSI request that is longer than its limit. */
export function checkRequestLimits(request: unknown): void {
  visitMessage(request, "");
}

function visitMessage(message: unknown, path: string): void {
  if (message === null || typeof message !== "object" || ArrayBuffer.isView(message)) return;
  for (const [key, value] of Object.entries(message)) {
    const field = `${path}${path === "" ? "" : "."}${snakeCase(key)}`;
    if (CSI_MAP_FIELD_NAMES.has(key) && value !== null && typeof value === "object") {
      checkMap(value as Record<string, unknown>, field);
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => visitValue(item, `${field}[${index}]`, key));
    } else {
      visitValue(value, field, key);
    }
  }
}

function visitValue(value: unknown, field: string, key: string): void {
  if (typeof value === "string") checkString(value, field, PATH_FIELDS.has(key) ? REQUEST_LIMITS.pathBytes : REQUEST_LIMITS.stringBytes);
  else visitMessage(value, field);
}

function checkMap(map: Record<string, unknown>, field: string): void {
  let total = 0;
  for (const [key, value] of Object.entries(map)) {
    const entry = `${field}["${printableExcerpt(key.slice(0, 32))}"]`;
    total += checkString(key, `a key of ${field}`, REQUEST_LIMITS.stringBytes);
    if (typeof value === "string") total += checkString(value, entry, REQUEST_LIMITS.stringBytes);
  }
  if (total > REQUEST_LIMITS.mapBytes) {
    throw new InvalidArgumentError(`${field} holds ${total} bytes of keys and values; at most ${REQUEST_LIMITS.mapBytes} are accepted`);
  }
}

/** Returns the value's length in bytes (UTF-8, as it came over the wire). */
function checkString(value: string, field: string, maxBytes: number): number {
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > maxBytes) {
    throw new InvalidArgumentError(`${field} is ${bytes} bytes long; at most ${maxBytes} are accepted (it begins "${printableExcerpt(value.slice(0, 32))}")`);
  }
  return bytes;
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
