import type { RdsClient, RdsVolume } from "./rds-client.js";

/**
 * The allow-list entry that admits no host. RouterOS reads an empty `nvme-tcp-server-allow-host-name`
 * as "any host", so a volume nobody may connect to must list a name no initiator presents: an NQN
 * under the driver's own naming authority that no node is ever given.
 */
export const NO_HOST_NQN = "nqn.2024-01.io.srvlab.rds-csi:no-host";

/**
 * Sets an export's allow-list to exactly `hostNqns` (none: NO_HOST_NQN, never the empty "any host")
 * (setAllowedHosts reads it back). The one writer of allow-lists: the controller at publish and
 * unpublish, the reconciler when it fences a node on the storage side.
 */
export async function setExportAllowList(rds: RdsClient, volumeId: string, hostNqns: readonly string[], signal: AbortSignal): Promise<RdsVolume> {
  return rds.setAllowedHosts(volumeId, hostNqns.length > 0 ? hostNqns : [NO_HOST_NQN], signal);
}

/**
 * The hosts an export admits by name; undefined when it admits any host (an empty list), since
 * "everyone but one host" cannot be written as an allow-list.
 */
export function namedAllowedHosts(volume: RdsVolume): readonly string[] | undefined {
  return volume.allowedHosts.length === 0 ? undefined : volume.allowedHosts.filter((host) => host !== NO_HOST_NQN);
}
