import { createHash } from "node:crypto";

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * RFC 4122 name-based UUID (version 5, SHA-1): the same namespace and name always give the same UUID,
 * so an id derived from a CSI name survives retries, controller restarts and a second replica.
 */
export function uuidV5(namespace: string, name: string): string {
  if (!UUID_SHAPE.test(namespace)) throw new Error(`uuidV5 namespace "${namespace}" is not a lower-case UUID`);
  const bytes = createHash("sha1")
    .update(Buffer.from(namespace.replaceAll("-", ""), "hex"))
    .update(name, "utf8")
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
