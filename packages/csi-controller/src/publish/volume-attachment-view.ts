import type { CheckResult } from "@rds-csi/core";
import type { PersistentVolume, RelistingInformer, VolumeAttachment } from "@rds-csi/core/k8s";
import { toAttachmentRecord, volumeAttachmentName, type AttachmentRecord } from "./attachment-record.js";

export interface VolumeAttachments {
  readonly volumeId: string;
  readonly persistentVolume: PersistentVolume | undefined;
  readonly attachments: readonly AttachmentRecord[];
}

/**
 * This driver's VolumeAttachments grouped by volume id, read from two relisting informers. A
 * VolumeAttachment names a PersistentVolume, not a volume handle, and a statically provisioned PV may
 * carry any name, so the handle comes from the PV (`spec.csi.volumeHandle`), never from the PV's name.
 * When the PV is not in the cache, an attachment still counts for a volume if its name is the one
 * Kubernetes derives from (handle, driver, node), or if its PV name is the volume id (the `pvc-<uid>`
 * names of dynamic provisioning): missing a holder is what must not happen.
 */
export class VolumeAttachmentView {
  readonly #driverName: string;
  readonly #attachments: RelistingInformer<VolumeAttachment>;
  readonly #volumes: RelistingInformer<PersistentVolume>;

  constructor(options: {
    driverName: string;
    attachments: RelistingInformer<VolumeAttachment>;
    volumes: RelistingInformer<PersistentVolume>;
  }) {
    this.#driverName = options.driverName;
    this.#attachments = options.attachments;
    this.#volumes = options.volumes;
  }

  get synced(): boolean {
    return this.#attachments.synced && this.#volumes.synced;
  }

  /** Resolves once both caches hold a full list; rejects with `signal.reason` when it aborts first. */
  async waitForSync(signal: AbortSignal): Promise<void> {
    await Promise.all([this.#attachments.waitForSync(signal), this.#volumes.waitForSync(signal)]);
  }

  check(now?: number): CheckResult {
    for (const informer of [this.#attachments, this.#volumes]) {
      const result = informer.check(now);
      if (!result.ok) return result;
    }
    return { ok: true };
  }

  attachmentsOf(volumeId: string): AttachmentRecord[] {
    const records: AttachmentRecord[] = [];
    for (const attachment of this.#ours()) {
      if (this.#isFor(attachment, volumeId)) records.push(toAttachmentRecord(attachment));
    }
    return records;
  }

  /**
   * This driver's VolumeAttachments on one node: `volumeId`'s own, and the others keyed by their volume
   * (the PV name when the PV is not in the cache, so two unresolved ones still count as two volumes).
   * The API has no field selector for VolumeAttachments, so the cache is filtered here.
   */
  attachmentsOnNode(node: string, volumeId: string): { own: AttachmentRecord | undefined; others: { volume: string; record: AttachmentRecord }[] } {
    let own: AttachmentRecord | undefined;
    const others: { volume: string; record: AttachmentRecord }[] = [];
    for (const attachment of this.#ours()) {
      if (attachment.spec.nodeName !== node) continue;
      const record = toAttachmentRecord(attachment);
      if (this.#isFor(attachment, volumeId)) {
        if (!record.deleting) own = record;
        continue;
      }
      others.push({ volume: this.#volumeIdOf(attachment) ?? attachment.spec.source.persistentVolumeName ?? record.name, record });
    }
    return { own, others };
  }

  persistentVolumeOf(volumeId: string): PersistentVolume | undefined {
    return this.#volumes.list().find((pv) => pv.spec?.csi?.driver === this.#driverName && pv.spec.csi.volumeHandle === volumeId);
  }

  /** Every volume with at least one attachment whose volume id is known. */
  volumes(): VolumeAttachments[] {
    const byVolume = new Map<string, { persistentVolume: PersistentVolume | undefined; attachments: AttachmentRecord[] }>();
    for (const attachment of this.#ours()) {
      const volumeId = this.#volumeIdOf(attachment);
      if (volumeId === undefined) continue;
      let entry = byVolume.get(volumeId);
      if (!entry) {
        const pvName = attachment.spec.source.persistentVolumeName;
        entry = { persistentVolume: pvName === undefined ? undefined : this.#volumes.get(pvName), attachments: [] };
        byVolume.set(volumeId, entry);
      }
      entry.attachments.push(toAttachmentRecord(attachment));
    }
    return [...byVolume].map(([volumeId, entry]) => ({ volumeId, ...entry }));
  }

  *#ours(): Iterable<VolumeAttachment> {
    for (const attachment of this.#attachments.list()) {
      if (attachment.spec?.attacher === this.#driverName) yield attachment;
    }
  }

  #isFor(attachment: VolumeAttachment, volumeId: string): boolean {
    const resolved = this.#volumeIdOf(attachment);
    if (resolved !== undefined) return resolved === volumeId;
    return (
      attachment.spec.source.persistentVolumeName === volumeId ||
      attachment.metadata?.name === volumeAttachmentName(volumeId, this.#driverName, attachment.spec.nodeName)
    );
  }

  #volumeIdOf(attachment: VolumeAttachment): string | undefined {
    const inline = attachment.spec.source.inlineVolumeSpec?.csi?.volumeHandle;
    if (inline !== undefined) return inline;
    const pvName = attachment.spec.source.persistentVolumeName;
    const pv = pvName === undefined ? undefined : this.#volumes.get(pvName);
    return pv?.spec?.csi?.volumeHandle;
  }
}
