import { NotFoundError } from "@rds-csi/core";
import { volumeAttachmentName, type KubeClient, type VolumeAttachment } from "@rds-csi/core/k8s";

/**
 * Whether a volume is still attached to this node, as the cluster records it: `attached` (its
 * VolumeAttachment for this node exists, is attached and is not being deleted), `gone` (no such
 * VolumeAttachment, or it is being deleted: the volume was detached, most likely moved to another node
 * after this node was fenced) or `unknown` (the API server could not be asked, or the attachment is
 * not settled yet).
 */
export type AttachmentState = "attached" | "gone" | "unknown";

export interface VolumeAttachmentCheck {
  stateOf(volumeId: string, signal: AbortSignal): Promise<AttachmentState>;
}

/** One GET of the VolumeAttachment kube-controller-manager names for (volume, this node). */
export class KubeVolumeAttachmentCheck implements VolumeAttachmentCheck {
  readonly #client: KubeClient;
  readonly #driverName: string;
  readonly #nodeName: string;

  constructor(options: { client: KubeClient; driverName: string; nodeName: string }) {
    this.#client = options.client;
    this.#driverName = options.driverName;
    this.#nodeName = options.nodeName;
  }

  async stateOf(volumeId: string, signal: AbortSignal): Promise<AttachmentState> {
    const name = volumeAttachmentName(volumeId, this.#driverName, this.#nodeName);
    let attachment: VolumeAttachment;
    try {
      attachment = await this.#client.get<VolumeAttachment>(`read VolumeAttachment ${name}`, `/apis/storage.k8s.io/v1/volumeattachments/${name}`, signal);
    } catch (err) {
      if (err instanceof NotFoundError) return "gone";
      if (signal.aborted) throw signal.reason;
      return "unknown";
    }
    if (attachment.metadata?.deletionTimestamp !== undefined) return "gone";
    return attachment.status?.attached === true ? "attached" : "unknown";
  }
}
