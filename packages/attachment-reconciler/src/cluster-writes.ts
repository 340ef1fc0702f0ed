import type { Taint, VolumeAttachment } from "@rds-csi/core/k8s";
import type { ClusterNode } from "./cluster-objects.js";

/**
 * Every write the reconciler makes to the API server, each one guarded against other writers: lists
 * that other controllers also write (taints, finalizers) change only through a JSON patch whose
 * `test` op checks the list as it was read, and a delete carries the object's uid as a precondition.
 * A lost race surfaces as an error; the work queue retries the node, which re-reads and decides again.
 */
export interface ClusterWrites {
  addNodeTaint(node: ClusterNode, taint: Taint, signal: AbortSignal): Promise<void>;
  removeNodeTaint(node: ClusterNode, taint: Taint, signal: AbortSignal): Promise<void>;
  /** `null` removes the annotation. Returns the Node as written. */
  setNodeAnnotation(nodeName: string, key: string, value: string | null, signal: AbortSignal): Promise<ClusterNode>;
  deleteVolumeAttachment(attachment: VolumeAttachment, signal: AbortSignal): Promise<void>;
  removeVolumeAttachmentFinalizer(attachment: VolumeAttachment, finalizer: string, signal: AbortSignal): Promise<void>;
}
