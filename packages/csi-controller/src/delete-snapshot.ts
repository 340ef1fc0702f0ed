import { csi, type CallContext } from "@rds-csi/core";
import { requireCapability } from "./capabilities.js";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { requireSnapshotId } from "./request-fields.js";

/** DeleteSnapshot: removes the copy and its file; a snapshot that is already gone is deleted. */
export async function deleteSnapshot(
  deps: ControllerDependencies,
  request: csi.DeleteSnapshotRequest,
  context: CallContext,
): Promise<csi.DeleteSnapshotResponse> {
  requireCapability(deps.capabilities, csi.ControllerServiceCapability_RPC_Type.CREATE_DELETE_SNAPSHOT, "DeleteSnapshot");
  const id = requireSnapshotId(request.snapshotId, "snapshot_id");
  return deps.snapshotLocks.run(id, context.signal, async (signal) => {
    await deps.rds.deleteSnapshot(id, signal);
    return {};
  });
}
