import { SNAPSHOT_SLOT_PREFIX, VOLUME_SLOT_PREFIX } from "./volume-layout.js";
import { uuidV5 } from "./uuid-v5.js";

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

/** Every volume id this driver hands out or adopts: `pvc-<lower-case uuid>`, which is also the RDS slot. */
const VOLUME_ID = new RegExp(`^${VOLUME_SLOT_PREFIX}${UUID}$`);

/**
 * Snapshot ids: ours are `snap-<uuid>`; the earlier Go driver's are `snap-<uuid>-at-<10 hex>`, accepted
 * so its snapshots can still be listed, restored and deleted.
 */
const SNAPSHOT_ID = new RegExp(`^${SNAPSHOT_SLOT_PREFIX}${UUID}(?:-at-[0-9a-f]{10})?$`);

/**
 * The namespace of name-derived ids: RFC 4122's DNS namespace, the one the earlier Go driver hashed
 * snapshot names with, so a name yields the same UUID in both drivers.
 */
export const ID_NAMESPACE = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

/**
 * The volume id for a CreateVolume name. external-provisioner names volumes after their PV
 * (`pvc-<uid>`); such a name is kept verbatim, so volumes the earlier Go driver created under the same
 * name are found and adopted. Any other name (tests, other COs, 128-character names) is hashed into the
 * same grammar, deterministically, so a retried CreateVolume finds the volume its first attempt made.
 */
export function volumeIdFromName(name: string): string {
  return VOLUME_ID.test(name) ? name : `${VOLUME_SLOT_PREFIX}${uuidV5(ID_NAMESPACE, name)}`;
}

/** The snapshot id for a CreateSnapshot name; deterministic for the same reason as volume ids. */
export function snapshotIdFromName(name: string): string {
  return `${SNAPSHOT_SLOT_PREFIX}${uuidV5(ID_NAMESPACE, name)}`;
}

/**
 * True only for ids this driver could have issued. Everything else (`storage-pool`, `../x`, a disk an
 * operator made by hand) is refused before any RDS command is sent: the id is also the RDS slot.
 */
export function isVolumeId(id: string): boolean {
  return VOLUME_ID.test(id);
}

export function isSnapshotId(id: string): boolean {
  return SNAPSHOT_ID.test(id);
}
