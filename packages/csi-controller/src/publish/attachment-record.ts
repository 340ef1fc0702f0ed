import { createHash } from "node:crypto";
import { timestampMs, type VolumeAttachment } from "@rds-csi/core/k8s";

/** What the arbiter needs of one VolumeAttachment, read once from the object. */
export interface AttachmentRecord {
  /** the VolumeAttachment's name, for messages */
  readonly name: string;
  readonly node: string;
  /** `status.attached`: ControllerPublish succeeded and the external-attacher recorded it */
  readonly attached: boolean;
  /** `deletionTimestamp` is set: a detach was requested, ControllerUnpublish has not yet succeeded */
  readonly deleting: boolean;
  /** not attached and `status.attachError` set: the last ControllerPublish for this node failed */
  readonly failed: boolean;
  /** ms since the epoch; undefined only for an object not yet stored by the API server */
  readonly createdAt: number | undefined;
}

export function toAttachmentRecord(attachment: VolumeAttachment): AttachmentRecord {
  const attached = attachment.status?.attached === true;
  return {
    name: attachment.metadata?.name ?? "",
    node: attachment.spec.nodeName,
    attached,
    deleting: attachment.metadata?.deletionTimestamp !== undefined,
    failed: !attached && attachment.status?.attachError !== undefined && attachment.status.attachError !== null,
    createdAt: timestampMs(attachment.metadata?.creationTimestamp),
  };
}

/**
 * The name Kubernetes gives the VolumeAttachment of (volume handle, driver, node):
 * `csi-<sha256(handle + driver + node)>` (pkg/volume/csi/csi_attacher.go, `getAttachmentName`). Used
 * only to recognise an attachment whose PersistentVolume is not in the cache.
 */
export function volumeAttachmentName(volumeHandle: string, driverName: string, nodeName: string): string {
  return `csi-${createHash("sha256").update(`${volumeHandle}${driverName}${nodeName}`).digest("hex")}`;
}
