import { csi, UnimplementedError } from "@rds-csi/core";

const Rpc = csi.NodeServiceCapability_RPC_Type;
type NodeCapability = csi.NodeServiceCapability_RPC_Type;

/**
 * The node capabilities: the one list advertised (NodeGetCapabilities) and enforced (each RPC's
 * `requireNodeCapability` first, STYLE rule 1), so the two cannot drift. SINGLE_NODE_MULTI_WRITER:
 * the node tells SINGLE_NODE_SINGLE_WRITER (one publish target) from SINGLE_NODE_MULTI_WRITER
 * (several pods on this node) apart, so kubelet may pass ReadWriteOncePod's mode.
 */
export const NODE_CAPABILITIES: ReadonlySet<NodeCapability> = new Set([
  Rpc.STAGE_UNSTAGE_VOLUME,
  Rpc.EXPAND_VOLUME,
  Rpc.GET_VOLUME_STATS,
  Rpc.VOLUME_CONDITION,
  Rpc.SINGLE_NODE_MULTI_WRITER,
]);

export async function nodeGetCapabilities(): Promise<csi.NodeGetCapabilitiesResponse> {
  return { capabilities: [...NODE_CAPABILITIES].map((type) => ({ rpc: { type } })) };
}

/** UNIMPLEMENTED for an RPC whose capability is not in `served` (CSI: "call not implemented"). */
export function requireNodeCapability(capability: NodeCapability, rpc: string, served: ReadonlySet<NodeCapability> = NODE_CAPABILITIES): void {
  if (!served.has(capability)) {
    throw new UnimplementedError(`${rpc} needs the ${csi.nodeServiceCapability_RPC_TypeToJSON(capability)} capability, which this node does not advertise`);
  }
}
