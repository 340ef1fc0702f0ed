import { csi } from "@rds-csi/core";

/** What the node service implements today; grows with each RPC (EXPAND_VOLUME, GET_VOLUME_STATS, …). */
export const NODE_CAPABILITIES: readonly csi.NodeServiceCapability_RPC_Type[] = [csi.NodeServiceCapability_RPC_Type.STAGE_UNSTAGE_VOLUME];

export async function nodeGetCapabilities(): Promise<csi.NodeGetCapabilitiesResponse> {
  return { capabilities: NODE_CAPABILITIES.map((type) => ({ rpc: { type } })) };
}
