import { FailedPreconditionError, csi, type CallContext } from "@rds-csi/core";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { ownVolumeId } from "./request-fields.js";
import { requireCapability } from "./capabilities.js";

/**
 * DeleteVolume: removes the disk and its backing file. A volume that is already gone is deleted (CSI:
 * the CO retries deletes) — but its file may not be: a delete that stopped between removing the disk
 * and removing the file left the file behind, so the RDS client is asked to finish even when no disk is
 * left. A volume still published to a node is refused: that node may have it connected, and removing
 * the export under it fails its I/O. Snapshots are independent copies, so they do not hold their source
 * back.
 */
export async function deleteVolume(
  deps: ControllerDependencies,
  request: csi.DeleteVolumeRequest,
  context: CallContext,
): Promise<csi.DeleteVolumeResponse> {
  requireCapability(deps.capabilities, csi.ControllerServiceCapability_RPC_Type.CREATE_DELETE_VOLUME, "DeleteVolume");
  const id = ownVolumeId(request.volumeId, "volume_id");
  // CSI DeleteVolume: "If a volume corresponding to the specified `volume_id` does not exist or the
  // artifacts associated with the volume do not exist anymore, the Plugin MUST reply `0 OK`."
  if (id === undefined) return {};
  return deps.volumeLocks.run(id, context.signal, async (signal) => {
    if ((await deps.rds.getVolume(id, signal)) !== undefined) {
      const nodes = await deps.arbiter.publishedNodes(id);
      if (nodes.length > 0) {
        throw new FailedPreconditionError(`volume ${id} is still published to node(s) ${nodes.join(", ")}; unpublish it before deleting it`);
      }
    }
    await deps.rds.deleteVolume(id, signal);
    context.logger.info("volume deleted", { volume_id: id });
    deps.gauges.changed(id, false);
    return {};
  });
}
