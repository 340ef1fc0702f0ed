import type { AttachmentRecord } from "./attachment-record.js";
import { isOlder } from "./publish-decision.js";

export interface NodeSlots {
  /** The volume being published. */
  readonly volumeId: string;
  /** Its own VolumeAttachment on the node, if the cache has it. */
  readonly own: AttachmentRecord | undefined;
  /** This driver's other VolumeAttachments on the node, keyed by the volume each is for. */
  readonly others: readonly { readonly volume: string; readonly record: AttachmentRecord }[];
  /** Other volumes with a granted ControllerPublish to the node still running in this process. */
  readonly publishing: ReadonlySet<string>;
}

/**
 * The other volumes that take one of the node's attach slots, sorted. A volume counts by the same
 * evidence that makes a node hold a volume in publish-decision.ts: its VolumeAttachment on the node is
 * attached, or being deleted (still connected until ControllerUnpublish succeeded), or pending without
 * an error and older than the requester's (it may have been granted with the status write still to
 * come; the older wins, so two pending attachments never refuse each other forever), or its publish is
 * running here. A failed attachment (one this limit refused, say) holds no slot.
 */
export function volumesTakingSlots(slots: NodeSlots): string[] {
  const taking = new Set([...slots.publishing].filter((volume) => volume !== slots.volumeId));
  for (const { volume, record } of slots.others) {
    if (volume === slots.volumeId) continue;
    if (record.deleting || record.attached || (!record.failed && isOlder(record, slots.own))) taking.add(volume);
  }
  return [...taking].sort();
}
