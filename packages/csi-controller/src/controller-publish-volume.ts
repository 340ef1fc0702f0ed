import { InvalidArgumentError, NotFoundError, csi, type CallContext } from "@rds-csi/core";
import { checkCapability } from "./access-modes.js";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { foreignId, ownVolumeId, requireField } from "./request-fields.js";
import { requireCapability } from "./capabilities.js";

/**
 * ControllerPublishVolume: the request is checked and the volume must exist on the RDS; whether this
 * node may have it is the arbiter's decision (see publish-arbiter.ts).
 */
export async function controllerPublishVolume(
  deps: ControllerDependencies,
  request: csi.ControllerPublishVolumeRequest,
  context: CallContext,
): Promise<csi.ControllerPublishVolumeResponse> {
  requireCapability(deps.capabilities, csi.ControllerServiceCapability_RPC_Type.PUBLISH_UNPUBLISH_VOLUME, "ControllerPublishVolume");
  const id = ownVolumeId(request.volumeId, "volume_id");
  requireField(request.nodeId, "node_id");
  checkCapability(request.volumeCapability, "volume_capability");
  if (request.readonly) {
    // CSI: the CO sets readonly only for a plugin with PUBLISH_READONLY; an NVMe/TCP export cannot be
    // made read-only per node, so the node mounts read-only instead (NodePublish's readonly).
    throw new InvalidArgumentError("readonly: this driver does not publish read-only at the controller (no PUBLISH_READONLY capability)");
  }
  // CSI ControllerPublishVolume errors: "Volume does not exist | 5 NOT_FOUND".
  if (id === undefined) throw new NotFoundError(`volume ${foreignId(request.volumeId)} does not exist`);
  return deps.volumeLocks.run(id, context.signal, async (signal) => {
    const volume = await deps.rds.getVolume(id, signal);
    if (!volume) throw new NotFoundError(`volume ${id} does not exist`);
    return deps.arbiter.publish(request, volume, context);
  });
}
