import { NotFoundError, csi, type CallContext } from "@rds-csi/core";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { toCsiVolume, volumeCondition } from "./csi-volume.js";
import { foreignId, ownVolumeId } from "./request-fields.js";
import { accessibleTopology } from "./topology.js";
import { requireCapability } from "./capabilities.js";

/** ControllerGetVolume: one volume as the RDS has it now, its nodes and its condition. */
export async function controllerGetVolume(
  deps: ControllerDependencies,
  request: csi.ControllerGetVolumeRequest,
  context: CallContext,
): Promise<csi.ControllerGetVolumeResponse> {
  requireCapability(deps.capabilities, csi.ControllerServiceCapability_RPC_Type.GET_VOLUME, "ControllerGetVolume");
  const id = ownVolumeId(request.volumeId, "volume_id");
  // CSI ControllerGetVolume: "If the volume does not exist any more, `ControllerGetVolume` should
  // return gRPC error code `NOT_FOUND`."
  if (id === undefined) throw new NotFoundError(`volume ${foreignId(request.volumeId)} does not exist`);
  const volume = await deps.rds.getVolume(id, context.signal);
  if (!volume) throw new NotFoundError(`volume ${id} does not exist`);
  return {
    volume: toCsiVolume(volume, { topology: accessibleTopology(deps.topology) }),
    status: { publishedNodeIds: await deps.arbiter.publishedNodes(id), volumeCondition: volumeCondition(volume) },
  };
}
