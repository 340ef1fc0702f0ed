import { csi, type CallContext } from "@rds-csi/core";
import { requireCapability } from "./capabilities.js";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { ownSnapshotId } from "./request-fields.js";

/** DeleteSnapshot: removes the copy and its file; a snapshot that is already gone is deleted. */
export async function deleteSnapshot(
  deps: ControllerDependencies,
  request: csi.DeleteSnapshotRequest,
  context: CallContext,
): Promise<csi.DeleteSnapshotResponse> {
  requireCapability(deps.capabilities, csi.ControllerServiceCapability_RPC_Type.CREATE_DELETE_SNAPSHOT, "DeleteSnapshot");
  const id = ownSnapshotId(request.snapshotId, "snapshot_id");
  // CSI DeleteSnapshot: "If a snapshot corresponding to the specified `snapshot_id` does not exist or
  // the artifacts associated with the snapshot do not exist anymore, the Plugin MUST reply `0 OK`."
  if (id === undefined) return {};
  return deps.snapshotLocks.run(id, context.signal, async (signal) => {
    await deps.rds.deleteSnapshot(id, signal);
    return {};
  });
}
