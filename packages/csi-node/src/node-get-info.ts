import type { csi } from "@rds-csi/core";
import type { NodeContext } from "./node-context.js";

export async function nodeGetInfo(ctx: NodeContext): Promise<csi.NodeGetInfoResponse> {
  return {
    nodeId: ctx.nodeId,
    maxVolumesPerNode: BigInt(ctx.maxVolumesPerNode),
    accessibleTopology: ctx.topology === undefined ? undefined : { segments: { ...ctx.topology } },
  };
}
