import type { csi } from "@rds-csi/core";
import type { RdsSnapshot } from "@rds-csi/core/routeros";

/**
 * A snapshot as CSI reports it. A copy exists in full once the RDS lists it, so it is ready at once.
 * Snapshots of the earlier Go driver carry no metadata: their source and creation time are unknown.
 */
export function toCsiSnapshot(snapshot: RdsSnapshot): csi.Snapshot {
  const createdMs = snapshot.createdAt?.getTime();
  const seconds = createdMs === undefined ? 0 : Math.floor(createdMs / 1000);
  return {
    snapshotId: snapshot.id,
    sourceVolumeId: snapshot.sourceVolumeId ?? "",
    sizeBytes: snapshot.sizeBytes,
    creationTime: createdMs === undefined ? undefined : { seconds: BigInt(seconds), nanos: (createdMs - seconds * 1000) * 1_000_000 },
    readyToUse: true,
    groupSnapshotId: "",
  };
}
