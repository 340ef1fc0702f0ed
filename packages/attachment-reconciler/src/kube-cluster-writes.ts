import { NotFoundError } from "@rds-csi/core";
import { jsonPointer, listItemAddition, listItemRemoval, type KubeClient, type Taint, type VolumeAttachment } from "@rds-csi/core/k8s";
import type { ClusterNode } from "./cluster-objects.js";
import type { ClusterWrites } from "./cluster-writes.js";

const TAINTS = jsonPointer("spec", "taints");
const FINALIZERS = jsonPointer("metadata", "finalizers");

/**
 * ClusterWrites over core's KubeClient. Taints and finalizers change through JSON patches whose `test`
 * ops check the list as read (ConflictError when someone changed it since); annotations through a
 * merge patch of one key (no list involved); a VolumeAttachment is deleted with its uid as a
 * precondition, and one already gone counts as deleted.
 */
export class KubeClusterWrites implements ClusterWrites {
  readonly #client: KubeClient;

  constructor(client: KubeClient) {
    this.#client = client;
  }

  async addNodeTaint(node: ClusterNode, taint: Taint, signal: AbortSignal): Promise<void> {
    const name = node.metadata?.name ?? "";
    const added = { ...taint, timeAdded: new Date().toISOString().replace(/\.\d+Z$/, "Z") };
    const operations = listItemAddition(TAINTS, node.spec?.taints, added, node.metadata?.resourceVersion ?? "", sameTaint);
    if (operations.length === 0) return;
    await this.#client.jsonPatch(`taint Node ${name}`, nodePath(name), operations, signal);
  }

  async removeNodeTaint(node: ClusterNode, taint: Taint, signal: AbortSignal): Promise<void> {
    const name = node.metadata?.name ?? "";
    const operations = listItemRemoval(TAINTS, node.spec?.taints, (entry: Taint) => sameTaint(entry, taint));
    if (operations.length === 0) return;
    await this.#client.jsonPatch(`untaint Node ${name}`, nodePath(name), operations, signal);
  }

  setNodeAnnotation(nodeName: string, key: string, value: string | null, signal: AbortSignal): Promise<ClusterNode> {
    return this.#client.mergePatch<ClusterNode>(`annotate Node ${nodeName}`, nodePath(nodeName), { metadata: { annotations: { [key]: value } } }, signal);
  }

  async deleteVolumeAttachment(attachment: VolumeAttachment, signal: AbortSignal): Promise<void> {
    const name = attachment.metadata?.name ?? "";
    try {
      await this.#client.delete(`delete VolumeAttachment ${name}`, attachmentPath(name), signal, { preconditions: { uid: attachment.metadata?.uid } });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  async removeVolumeAttachmentFinalizer(attachment: VolumeAttachment, finalizer: string, signal: AbortSignal): Promise<void> {
    const name = attachment.metadata?.name ?? "";
    const operations = listItemRemoval(FINALIZERS, attachment.metadata?.finalizers, (entry: string) => entry === finalizer);
    if (operations.length === 0) return;
    await this.#client.jsonPatch(`remove finalizer ${finalizer} from VolumeAttachment ${name}`, attachmentPath(name), operations, signal);
  }
}

/** A taint is the same by key and effect (kubectl and the node lifecycle controller compare so). */
function sameTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

function nodePath(name: string): string {
  return `/api/v1/nodes/${encodeURIComponent(name)}`;
}

function attachmentPath(name: string): string {
  return `/apis/storage.k8s.io/v1/volumeattachments/${encodeURIComponent(name)}`;
}
