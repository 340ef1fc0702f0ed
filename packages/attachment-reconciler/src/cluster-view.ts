import type { PersistentVolume, VolumeAttachment } from "@rds-csi/core/k8s";
import type { ClusterNode, NodeLease } from "./cluster-objects.js";

/** What the reconciler reads, from its informers' caches (tests hand in plain lists). */
export interface ClusterView {
  nodes(): readonly ClusterNode[];
  node(name: string): ClusterNode | undefined;
  /** the node's Lease in kube-node-lease */
  lease(nodeName: string): NodeLease | undefined;
  /** VolumeAttachments whose spec.attacher is this driver */
  attachments(): readonly VolumeAttachment[];
  /** those of them on `nodeName` (a node's turn reads only its own, without scanning every one) */
  attachmentsOn(nodeName: string): readonly VolumeAttachment[];
  persistentVolume(name: string): PersistentVolume | undefined;
}

/** The volume handle a VolumeAttachment is about, through its PV (or an inline spec). */
export function volumeHandleOf(view: ClusterView, attachment: VolumeAttachment): string | undefined {
  const source = attachment.spec.source;
  if (source.persistentVolumeName !== undefined) return view.persistentVolume(source.persistentVolumeName)?.spec?.csi?.volumeHandle;
  return source.inlineVolumeSpec?.csi?.volumeHandle;
}

/**
 * The external-attacher's finalizer on the VolumeAttachments of `driver`: `external-attacher/` and
 * the driver name with every character outside [a-zA-Z0-9-] replaced by `-`
 * (external-attacher pkg/controller/util.go GetFinalizerName).
 */
export function attacherFinalizer(driver: string): string {
  return `external-attacher/${driver.replace(/[^a-zA-Z0-9-]/g, "-")}`;
}
