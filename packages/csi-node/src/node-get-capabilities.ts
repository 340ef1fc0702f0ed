import { csi } from "@rds-csi/core";

/** What the node service implements today; grows with each RPC. */
export const NODE_CAPABILITIES: readonly csi.NodeServiceCapability_RPC_Type[] = [
  csi.NodeServiceCapability_RPC_Type.STAGE_UNSTAGE_VOLUME,
  csi.NodeServiceCapability_RPC_Type.EXPAND_VOLUME,
  csi.NodeServiceCapability_RPC_Type.GET_VOLUME_STATS,
  csi.NodeServiceCapability_RPC_Type.VOLUME_CONDITION,
];

export async function nodeGetCapabilities(): Promise<csi.NodeGetCapabilitiesResponse> {
  return { capabilities: NODE_CAPABILITIES.map((type) => ({ rpc: { type } })) };
}
