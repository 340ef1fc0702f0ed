import { csi, isSnapshotId, isVolumeId, type CallContext } from "@rds-csi/core";
import { type RdsSnapshot } from "@rds-csi/core/routeros";
import { requireCapability } from "./capabilities.js";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { toCsiSnapshot } from "./csi-snapshot.js";
import { checkPageRequest, pageById } from "./pagination.js";

/**
 * ListSnapshots: all of this driver's snapshots, one by id, or those of one source volume, in pages.
 * An id or source that cannot exist matches nothing: CSI answers an empty list, not an error.
 */
export async function listSnapshots(
  deps: ControllerDependencies,
  request: csi.ListSnapshotsRequest,
  context: CallContext,
): Promise<csi.ListSnapshotsResponse> {
  requireCapability(deps.capabilities, csi.ControllerServiceCapability_RPC_Type.LIST_SNAPSHOTS, "ListSnapshots");
  checkPageRequest(request, isSnapshotId);
  const { snapshotId, sourceVolumeId } = request;
  if ((snapshotId !== "" && !isSnapshotId(snapshotId)) || (sourceVolumeId !== "" && !isVolumeId(sourceVolumeId))) {
    return { entries: [], nextToken: "" };
  }
  let snapshots: RdsSnapshot[];
  if (snapshotId !== "") {
    const one = await deps.rds.getSnapshot(snapshotId, context.signal);
    snapshots = one ? [one] : [];
  } else {
    snapshots = await deps.rds.listSnapshots(context.signal);
  }
  if (sourceVolumeId !== "") snapshots = snapshots.filter((snapshot) => snapshot.sourceVolumeId === sourceVolumeId);
  const page = pageById(snapshots, (snapshot) => snapshot.id, request);
  return { entries: page.entries.map((snapshot) => ({ snapshot: toCsiSnapshot(snapshot) })), nextToken: page.nextToken };
}
