import { InvalidArgumentError, isSnapshotId, isVolumeId } from "@rds-csi/core";

/** A required string field of a request; INVALID_ARGUMENT naming the field when it is empty. */
export function requireField(value: string, field: string): string {
  if (value === "") throw new InvalidArgumentError(`${field} is required`);
  return value;
}

/**
 * A volume id field: required, and of the driver's grammar (`pvc-<uuid>`). The id is also the RDS slot,
 * so anything else (`storage-pool`, `../x`) is refused before a command could name it.
 */
export function requireVolumeId(value: string, field: string): string {
  if (!isVolumeId(requireField(value, field))) {
    throw new InvalidArgumentError(`${field} "${value}" is not a volume id of this driver (pvc-<uuid>)`);
  }
  return value;
}

export function requireSnapshotId(value: string, field: string): string {
  if (!isSnapshotId(requireField(value, field))) {
    throw new InvalidArgumentError(`${field} "${value}" is not a snapshot id of this driver (snap-<uuid>)`);
  }
  return value;
}
