import { InvalidArgumentError, isSnapshotId, isVolumeId, printableExcerpt } from "@rds-csi/core";

/** A required string field of a request; INVALID_ARGUMENT naming the field when it is empty. */
export function requireField(value: string, field: string): string {
  if (value === "") throw new InvalidArgumentError(`${field} is required`);
  return value;
}

/** CSI's general size limit for a string ("Size Limits": 128 bytes); ids have no override. */
export const MAX_ID_BYTES = 128;

// Control characters (C0, DEL, C1): no id of any driver holds them, and they must not reach a log line as is.
const CONTROL = /\p{Cc}/u;

/**
 * An id field that could be some driver's id: present, within CSI's size limit, no control
 * characters. Anything else is malformed for every driver: INVALID_ARGUMENT.
 */
function requireWellFormedId(value: string, field: string): string {
  requireField(value, field);
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_ID_BYTES) throw new InvalidArgumentError(`${field} is ${bytes} bytes long; CSI ids are at most ${MAX_ID_BYTES} bytes`);
  if (CONTROL.test(value)) throw new InvalidArgumentError(`${field} "${printableExcerpt(value)}" holds control characters`);
  return value;
}

/**
 * A volume id field: the id when it is of this driver's grammar (`pvc-<uuid>`, also the RDS slot), or
 * undefined for a well-formed id this driver cannot have issued. Such an id names no volume of ours,
 * so each RPC answers as CSI says for a volume that does not exist, and no RDS command ever names it
 * (`storage-pool`, `../x`).
 */
export function ownVolumeId(value: string, field: string): string | undefined {
  return isVolumeId(requireWellFormedId(value, field)) ? value : undefined;
}

/** A snapshot id field: as `ownVolumeId`, for `snap-<uuid>` (and the earlier Go driver's snapshot ids). */
export function ownSnapshotId(value: string, field: string): string | undefined {
  return isSnapshotId(requireWellFormedId(value, field)) ? value : undefined;
}

/** How a message names an id that is not ours: quoted, printable, short. */
export function foreignId(value: string): string {
  return `"${printableExcerpt(value)}" (not an id of this driver)`;
}
