import { csi, UnimplementedError } from "@rds-csi/core";
import { type CopyStrategy } from "@rds-csi/core/routeros";

const Rpc = csi.ControllerServiceCapability_RPC_Type;
type RpcCapability = csi.ControllerServiceCapability_RPC_Type;

export interface CapabilityConfig {
  /** Snapshots and clones are copies; they are offered only once the operator proved the strategy copies data. */
  readonly copyTrust: CopyStrategy["trust"];
  /** Whether a topology segment is configured, so volumes carry accessibility constraints. */
  readonly topology: boolean;
}

const ALWAYS: readonly RpcCapability[] = [
  Rpc.CREATE_DELETE_VOLUME,
  Rpc.PUBLISH_UNPUBLISH_VOLUME,
  Rpc.LIST_VOLUMES,
  Rpc.LIST_VOLUMES_PUBLISHED_NODES,
  Rpc.GET_CAPACITY,
  Rpc.EXPAND_VOLUME,
  Rpc.GET_VOLUME,
  Rpc.VOLUME_CONDITION,
  Rpc.SINGLE_NODE_MULTI_WRITER,
];

const COPIES: readonly RpcCapability[] = [Rpc.CREATE_DELETE_SNAPSHOT, Rpc.LIST_SNAPSHOTS, Rpc.CLONE_VOLUME];

/**
 * The controller capabilities this configuration serves. The one list both advertised
 * (ControllerGetCapabilities) and enforced (`requireCapability`), so the two cannot drift.
 */
export function controllerCapabilities(config: CapabilityConfig): ReadonlySet<RpcCapability> {
  return new Set(config.copyTrust === "verified" ? [...ALWAYS, ...COPIES] : ALWAYS);
}

/** UNIMPLEMENTED for an RPC whose capability is not served, as CSI asks ("call not implemented"). */
export function requireCapability(served: ReadonlySet<RpcCapability>, capability: RpcCapability, rpc: string): void {
  if (!served.has(capability)) throw notServed(capability, rpc);
}

/** The error for an RPC whose capability is not served, saying why. */
export function notServed(capability: RpcCapability, rpc: string): UnimplementedError {
  const name = csi.controllerServiceCapability_RPC_TypeToJSON(capability);
  const why = COPIES.includes(capability)
    ? "the copy strategy is not verified on this RDS (run the self-check, then set --copy-strategy-trust=verified)"
    : "this driver does not offer it";
  return new UnimplementedError(`${rpc} needs the ${name} capability, which is not advertised: ${why}`);
}
