import { csi } from "@rds-csi/core";

/**
 * SINGLE_NODE_MULTI_WRITER: the node tells SINGLE_NODE_SINGLE_WRITER (one publish target) from
 * SINGLE_NODE_MULTI_WRITER (several pods on this node) apart, so kubelet may pass ReadWriteOncePod's mode.
 */
export const NODE_CAPABILITIES: readonly csi.NodeServiceCapability_RPC_Type[] = [
  csi.NodeServiceCapability_RPC_Type.STAGE_UNSTAGE_VOLUME,
  csi.NodeServiceCapability_RPC_Type.EXPAND_VOLUME,
  csi.NodeServiceCapability_RPC_Type.GET_VOLUME_STATS,
  csi.NodeServiceCapability_RPC_Type.VOLUME_CONDITION,
  csi.NodeServiceCapability_RPC_Type.SINGLE_NODE_MULTI_WRITER,
];

export async function nodeGetCapabilities(): Promise<csi.NodeGetCapabilitiesResponse> {
  return { capabilities: NODE_CAPABILITIES.map((type) => ({ rpc: { type } })) };
}
