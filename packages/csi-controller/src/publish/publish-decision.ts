import type { AccessPolicy } from "./access-policy.js";
import type { AttachmentRecord } from "./attachment-record.js";

/**
 * Why another node counts as holding the volume:
 * - `attached`: its VolumeAttachment says `attached: true`;
 * - `detaching`: its VolumeAttachment is being deleted but still exists. The external-attacher removes
 *   its finalizer, and so lets the object go, only after ControllerUnpublish succeeded; until then the
 *   node may still have the namespace connected (a force-detach after 6 minutes does not even wait for
 *   NodeUnstage). Deletion means "detach requested", never "detached".
 * - `attaching`: its VolumeAttachment is not attached yet, has no attach error, and is older than the
 *   requester's. Its ControllerPublish may be running, or may have succeeded with the status write still
 *   to come (a lost reply, a restarted attacher), so it is treated as holding. The older one wins so that
 *   two pending attachments never refuse each other forever, and every replica decides the same way.
 * - `publishing`: a ControllerPublish for it was granted in this process and is still running.
 */
export type HolderState = "attached" | "detaching" | "attaching" | "publishing";

export interface Holder {
  readonly node: string;
  readonly state: HolderState;
  /** the VolumeAttachment behind the state; absent for `publishing` */
  readonly attachment?: string;
}

/**
 * Why a publish was refused: other nodes hold the volume (single_node, migration_limit), the node is
 * full (node_limit), or the node is fenced (node_fenced).
 */
export type ConflictReason = "single_node" | "migration_limit" | "node_limit" | "node_fenced";

export interface PublishSituation {
  readonly node: string;
  readonly policy: AccessPolicy;
  /** every VolumeAttachment of the volume, for any node */
  readonly attachments: readonly AttachmentRecord[];
  /** nodes with a granted ControllerPublish of the volume still running in this process */
  readonly publishing: ReadonlySet<string>;
}

export type PublishDecision =
  | { readonly verdict: "grant"; readonly alreadyPublished: boolean; readonly holders: readonly Holder[] }
  | { readonly verdict: "refuse"; readonly reason: ConflictReason; readonly holders: readonly Holder[] };

/**
 * Whether `situation.node` may have the volume. Pure: the same VolumeAttachments give the same answer
 * in every replica and after any restart. No grace period and no hand-off: a node holds the volume for
 * as long as the evidence above exists, however recently it said it was leaving.
 *
 * A node whose own VolumeAttachment is already attached is answered OK (CSI: publishing again to the
 * same node is idempotent), whatever else exists; refusing would not detach it.
 */
export function decidePublish(situation: PublishSituation): PublishDecision {
  const own = situation.attachments.find((record) => record.node === situation.node && !record.deleting);
  const holders = holdersAgainst(situation, own);
  if (own?.attached) return { verdict: "grant", alreadyPublished: true, holders };
  if (holders.length < situation.policy.maxNodes) return { verdict: "grant", alreadyPublished: false, holders };
  return { verdict: "refuse", reason: situation.policy.kind === "migration" ? "migration_limit" : "single_node", holders };
}

/**
 * The nodes that may connect to the volume's export right now, for host access control: every node
 * whose VolumeAttachment is attached and not being deleted, every node with a ControllerPublish running
 * here, and every node whose pending VolumeAttachment would be granted (it may have been, with the
 * status write still to come). A node being detached is not entitled to new connections even while it
 * still counts as holding the volume; `leaving` names nodes whose ControllerUnpublish is running.
 */
export function entitledNodes(
  policy: AccessPolicy,
  attachments: readonly AttachmentRecord[],
  publishing: ReadonlySet<string>,
  leaving: ReadonlySet<string>,
): string[] {
  const entitled = new Set(publishing);
  for (const record of attachments) {
    if (record.deleting || record.failed) continue;
    if (record.attached || decidePublish({ node: record.node, policy, attachments, publishing }).verdict === "grant") {
      entitled.add(record.node);
    }
  }
  return [...entitled].filter((node) => !leaving.has(node)).sort();
}

function holdersAgainst(situation: PublishSituation, own: AttachmentRecord | undefined): Holder[] {
  const byNode = new Map<string, Holder>();
  const add = (holder: Holder): void => {
    const known = byNode.get(holder.node);
    if (!known || STRENGTH[holder.state] > STRENGTH[known.state]) byNode.set(holder.node, holder);
  };
  for (const node of situation.publishing) {
    if (node !== situation.node) add({ node, state: "publishing" });
  }
  for (const record of situation.attachments) {
    if (record.node === situation.node) continue;
    if (record.deleting) add({ node: record.node, state: "detaching", attachment: record.name });
    else if (record.attached) add({ node: record.node, state: "attached", attachment: record.name });
    else if (!record.failed && isOlder(record, own)) add({ node: record.node, state: "attaching", attachment: record.name });
  }
  return [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node));
}

// When one node has several kinds of evidence, messages name the weightiest.
const STRENGTH: Readonly<Record<HolderState, number>> = { attaching: 0, publishing: 1, attached: 2, detaching: 3 };

/**
 * Whether `other` was created before `own`, ties broken by name. A requester whose own attachment is
 * not in the cache yet counts as the newest, so it yields to every pending attachment it can see.
 */
export function isOlder(other: AttachmentRecord, own: AttachmentRecord | undefined): boolean {
  if (!own || own.createdAt === undefined) return true;
  if (other.createdAt === undefined) return false;
  if (other.createdAt !== own.createdAt) return other.createdAt < own.createdAt;
  return other.name < own.name;
}

/** A refusal in words that name the volume, each holding node and why it counts. */
export function describeRefusal(volumeId: string, decision: Extract<PublishDecision, { verdict: "refuse" }>): string {
  const holders = decision.holders.map(describeHolder).join("; ");
  if (decision.reason === "migration_limit") {
    return `volume ${volumeId} is already published to ${decision.holders.length} nodes, the most a live migration uses: ${holders}`;
  }
  return `volume ${volumeId} is published to another node and can be attached to one node at a time: ${holders}`;
}

function describeHolder(holder: Holder): string {
  switch (holder.state) {
    case "attached":
      return `node ${holder.node} (VolumeAttachment ${holder.attachment} is attached)`;
    case "detaching":
      return `node ${holder.node} (VolumeAttachment ${holder.attachment} is being deleted; the volume stays there until ControllerUnpublish succeeded and it is gone)`;
    case "attaching":
      return `node ${holder.node} (VolumeAttachment ${holder.attachment}, created earlier, is attaching)`;
    case "publishing":
      return `node ${holder.node} (a ControllerPublish for it is in progress)`;
  }
}
