import type { csi } from "@rds-csi/core";
import type { RdsVolume } from "@rds-csi/core/routeros";

export interface VolumeExtras {
  readonly topology: csi.Topology[];
  /** Only CreateVolume knows the StorageClass, so only it returns a context. */
  readonly context?: Record<string, string>;
  readonly contentSource?: csi.VolumeContentSource;
}

/** A volume as CSI reports it, with the size read back from the RDS, to the byte. */
export function toCsiVolume(volume: RdsVolume, extras: VolumeExtras): csi.Volume {
  return {
    volumeId: volume.id,
    capacityBytes: volume.sizeBytes,
    volumeContext: extras.context ?? {},
    contentSource: extras.contentSource,
    accessibleTopology: extras.topology,
  };
}

/** Abnormal when the disk exists but is not exported: no node can connect to it. */
export function volumeCondition(volume: RdsVolume): csi.VolumeCondition {
  return volume.exported
    ? { abnormal: false, message: "the disk is exported over NVMe/TCP" }
    : { abnormal: true, message: `the disk ${volume.id} exists on the RDS but its NVMe/TCP export is off; nodes cannot connect to it` };
}
