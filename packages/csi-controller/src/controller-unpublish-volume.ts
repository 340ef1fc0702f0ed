import { csi, type CallContext } from "@rds-csi/core";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { ownVolumeId } from "./request-fields.js";
import { requireCapability } from "./capabilities.js";

/**
 * ControllerUnpublishVolume: handed to the arbiter, which treats a node or volume that is gone as
 * unpublished (the attacher must be able to finish a detach after either was deleted). An empty
 * node_id means every node, as CSI defines it.
 */
export async function controllerUnpublishVolume(
  deps: ControllerDependencies,
  request: csi.ControllerUnpublishVolumeRequest,
  context: CallContext,
): Promise<csi.ControllerUnpublishVolumeResponse> {
  requireCapability(deps.capabilities, csi.ControllerServiceCapability_RPC_Type.PUBLISH_UNPUBLISH_VOLUME, "ControllerUnpublishVolume");
  const id = ownVolumeId(request.volumeId, "volume_id");
  // CSI ControllerUnpublishVolume: "If the volume corresponding to the `volume_id` or the node
  // corresponding to `node_id` cannot be found by the Plugin and the volume can be safely regarded as
  // ControllerUnpublished from the node, the plugin SHOULD return `0 OK`." An id not of ours was never published by us.
  if (id === undefined) return {};
  return deps.volumeLocks.run(id, context.signal, async () => {
    await deps.arbiter.unpublish(request, context);
    return {};
  });
}
