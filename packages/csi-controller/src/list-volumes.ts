import { isVolumeId, csi, type CallContext } from "@rds-csi/core";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { toCsiVolume, volumeCondition } from "./csi-volume.js";
import { checkPageRequest, pageById } from "./pagination.js";
import { accessibleTopology } from "./topology.js";
import { requireCapability } from "./capabilities.js";

/** ListVolumes: this driver's volumes by id, in pages whose tokens survive volumes coming and going. */
export async function listVolumes(
  deps: ControllerDependencies,
  request: csi.ListVolumesRequest,
  context: CallContext,
): Promise<csi.ListVolumesResponse> {
  requireCapability(deps.capabilities, csi.ControllerServiceCapability_RPC_Type.LIST_VOLUMES, "ListVolumes");
  checkPageRequest(request, isVolumeId);
  const volumes = await deps.rds.listVolumes(context.signal);
  const page = pageById(volumes, (volume) => volume.id, request);
  const topology = accessibleTopology(deps.topology);
  const entries = await Promise.all(
    page.entries.map(async (volume) => ({
      volume: toCsiVolume(volume, { topology }),
      status: { publishedNodeIds: await deps.arbiter.publishedNodes(volume.id), volumeCondition: volumeCondition(volume) },
    })),
  );
  return { entries, nextToken: page.nextToken };
}
