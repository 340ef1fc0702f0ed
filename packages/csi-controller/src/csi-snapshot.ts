import type { csi } from "@rds-csi/core";
import type { RdsSnapshot } from "@rds-csi/core/routeros";

/**
 * A snapshot as CSI reports it: ready once its copy has reached the source's size (the RDS may finish a
 * copy in the background; the snapshotter asks again while it is not ready).
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
    readyToUse: !snapshot.copyInProgress,
    groupSnapshotId: "",
  };
}
