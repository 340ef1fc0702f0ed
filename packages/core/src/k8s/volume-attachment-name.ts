import { createHash } from "node:crypto";

/**
 * The name kube-controller-manager's attach/detach controller gives the VolumeAttachment of a CSI
 * volume on a node: `csi-` and the hex SHA-256 of volume handle, driver name and node name, concatenated
 * (kubernetes pkg/volume/csi/csi_attacher.go getAttachmentName). One GET by this name answers whether
 * the volume is attached to the node; VolumeAttachments have no field selectors to search by.
 */
export function volumeAttachmentName(volumeHandle: string, driverName: string, nodeName: string): string {
  return `csi-${createHash("sha256").update(`${volumeHandle}${driverName}${nodeName}`).digest("hex")}`;
}
