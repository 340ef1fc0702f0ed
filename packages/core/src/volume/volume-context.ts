import type { FsType } from "./fs-type.js";
import type { VolumeParameters } from "./storage-class-parameters.js";

/**
 * The keys of a volume's context (the PV's `volumeAttributes`): what the node needs to connect and
 * mount. Written by the controller at CreateVolume, read by the node at stage. The connection keys
 * keep the earlier Go driver's names, so the node can stage the volumes it created too.
 */
export const VOLUME_CONTEXT_KEYS = {
  nvmeAddress: "nvmeAddress",
  nvmePort: "nvmePort",
  nqn: "nqn",
  fsType: "fsType",
  ctrlLossTmo: "ctrlLossTmo",
  reconnectDelay: "reconnectDelay",
  keepAliveTmo: "keepAliveTmo",
  mountOptionsPolicy: "mountOptionsPolicy",
} as const;

/**
 * The context of a volume as the RDS exports it (`nqn`, `port` read back from the RDS) with its
 * StorageClass's node settings; `fsType` only for a volume requested with a filesystem.
 */
export function volumeContext(exported: { readonly nqn: string; readonly port: number }, parameters: VolumeParameters, fsType: FsType | undefined): Record<string, string> {
  const keys = VOLUME_CONTEXT_KEYS;
  return {
    [keys.nvmeAddress]: parameters.nvmeAddress,
    [keys.nvmePort]: String(exported.port),
    [keys.nqn]: exported.nqn,
    ...(fsType ? { [keys.fsType]: fsType } : {}),
    [keys.ctrlLossTmo]: String(parameters.ctrlLossTmo),
    [keys.reconnectDelay]: String(parameters.reconnectDelay),
    [keys.keepAliveTmo]: String(parameters.keepAliveTmo),
    [keys.mountOptionsPolicy]: parameters.mountOptionsPolicy,
  };
}
