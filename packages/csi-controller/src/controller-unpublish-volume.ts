import type { CallContext, csi } from "@rds-csi/core";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { requireVolumeId } from "./request-fields.js";

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
  const id = requireVolumeId(request.volumeId, "volume_id");
  return deps.volumeLocks.run(id, context.signal, async () => {
    await deps.arbiter.unpublish(request, context);
    return {};
  });
}
