import {
  buildPublishContext,
  FailedPreconditionError,
  NotFoundError,
  ResourceExhaustedError,
  UnavailableError,
  type CallContext,
  type csi,
  type Logger,
  KeyedSequencer,
} from "@rds-csi/core";
import { setExportAllowList, type RdsClient, type RdsVolume } from "@rds-csi/core/routeros";
import type { PublishArbiter } from "../publish-arbiter.js";
import { accessPolicyFor, accessPolicyOfPersistentVolume, type AccessPolicy } from "./access-policy.js";
import { volumesTakingSlots } from "./node-attach-limit.js";
import type { NodeAccess, NodeDirectory } from "./node-directory.js";
import { decidePublish, describeRefusal, entitledNodes } from "./publish-decision.js";
import type { PublishMetrics } from "./publish-metrics.js";
import type { VolumeAttachmentView } from "./volume-attachment-view.js";

export interface VolumeAttachmentArbiterOptions {
  readonly view: VolumeAttachmentView;
  readonly nodes: NodeDirectory;
  readonly rds: RdsClient;
  readonly metrics: PublishMetrics;
  /**
   * True only when host access control on exports was verified on this RDS: each publish then sets
   * the export's allow-list to the host NQNs of the nodes entitled to the volume, and each unpublish
   * takes the node out. Otherwise exports accept any host and this arbiter never touches them.
   */
  readonly hostAccessControl: boolean;
  /** The NVMe/TCP address a node connects to, given the volume's context (StorageClass overrides live there). */
  readonly nvmeAddress: (volumeContext: Readonly<Record<string, string>>) => string;
}

/**
 * Decides ControllerPublish/Unpublish from this driver's VolumeAttachments (ARCHITECTURE.md invariant
 * 8). The only state of its own is which publishes are running in this process right now: it exists
 * only for the length of a call, so a restarted controller cannot disagree with the API server; the
 * VolumeAttachments alone carry every decision across restarts and replicas (see publish-decision.ts).
 */
export class VolumeAttachmentArbiter implements PublishArbiter {
  readonly #options: VolumeAttachmentArbiterOptions;
  /** volume id → node → number of granted publishes still running for it */
  readonly #publishing = new Map<string, Map<string, number>>();
  /** volume id → nodes whose ControllerUnpublish is running (host access control only) */
  readonly #leaving = new Map<string, Map<string, number>>();
  readonly #hostAccessQueue = new KeyedSequencer();

  constructor(options: VolumeAttachmentArbiterOptions) {
    this.#options = options;
  }

  async publish(request: csi.ControllerPublishVolumeRequest, volume: RdsVolume, context: CallContext): Promise<csi.ControllerPublishVolumeResponse> {
    const { volumeId, nodeId } = request;
    const logger = context.logger.child({ volume_id: volumeId, node_id: nodeId });
    const policy = accessPolicyFor(request.volumeCapability);
    if (!volume.exported) {
      throw new FailedPreconditionError(`volume ${volumeId} exists but its NVMe/TCP export is off, so no node can attach it`);
    }
    await this.#waitForSync(context.signal);
    // Both reads at once: the fence check costs no extra round-trip's worth of time, and the Node read
    // also gives the host NQN that host access control needs.
    const [{ attachLimit }, access] = await Promise.all([
      this.#options.nodes.requireDriverNode(nodeId, context.signal),
      this.#options.nodes.access(nodeId, context.signal),
    ]);
    this.#refuseFenced(volumeId, nodeId, access, logger);

    // Decide and reserve with no await in between: a concurrent publish of the same volume sees this
    // one either as not yet decided or as reserved, never in between.
    const decision = decidePublish({
      node: nodeId,
      policy,
      attachments: this.#options.view.attachmentsOf(volumeId),
      publishing: nodesOf(this.#publishing, volumeId),
    });
    if (decision.verdict === "refuse") {
      this.#options.metrics.conflict(decision.reason);
      const message = describeRefusal(volumeId, decision);
      logger.warn("publish refused", { reason: decision.reason, holders: decision.holders.map((holder) => holder.node) });
      throw new FailedPreconditionError(message);
    }
    // A publish of a volume the node already has takes no new slot: it stays OK, as CSI wants repeats to.
    if (attachLimit !== undefined && !decision.alreadyPublished) this.#checkAttachLimit(volumeId, nodeId, attachLimit, logger);
    const release = reserve(this.#publishing, volumeId, nodeId);
    try {
      if (this.#options.hostAccessControl) await this.#applyHostAccess(volumeId, policy, { node: nodeId, access }, logger, context.signal);
      logger.info(decision.alreadyPublished ? "publish repeated for the node holding the volume" : "publish granted", {
        other_nodes: decision.holders.map((holder) => holder.node),
      });
      return {
        publishContext: buildPublishContext({ address: this.#options.nvmeAddress(request.volumeContext), port: volume.port, nqn: volume.nqn }),
      };
    } finally {
      release();
    }
  }

  async unpublish(request: csi.ControllerUnpublishVolumeRequest, context: CallContext): Promise<void> {
    // Without host access control there is nothing to undo: the VolumeAttachments are the record,
    // and the external-attacher deletes this one once we return OK.
    if (!this.#options.hostAccessControl) return;
    const { volumeId, nodeId } = request;
    const logger = context.logger.child({ volume_id: volumeId, node_id: nodeId });
    await this.#waitForSync(context.signal);
    const policy = accessPolicyOfPersistentVolume(this.#options.view.persistentVolumeOf(volumeId));
    const release = nodeId === "" ? () => undefined : reserve(this.#leaving, volumeId, nodeId);
    try {
      await this.#applyHostAccess(volumeId, policy, undefined, logger, context.signal, nodeId === "");
    } catch (err) {
      // A volume that is gone admits nobody: unpublished (CSI: unpublishing a missing volume is OK).
      if (!(err instanceof NotFoundError)) throw err;
      logger.info("volume is gone; nothing to revoke");
    } finally {
      release();
    }
  }

  async publishedNodes(volumeId: string): Promise<string[]> {
    if (!this.#options.view.synced) {
      throw new UnavailableError("the VolumeAttachment cache has not synced with the API server yet");
    }
    const nodes = this.#options.view
      .attachmentsOf(volumeId)
      .filter((record) => record.attached)
      .map((record) => record.node);
    return [...new Set(nodes)].sort();
  }

  /**
   * A fenced node (the attachment-reconciler's fence record or the out-of-service taint) may still have
   * connections and writers from before its failure; for an RWX volume a publish would put its host
   * back on the export's allow-list beside the node the volume moved to. CSI's error table has no row
   * for this; FAILED_PRECONDITION is gRPC's code for "the system is not in a state required for the
   * operation", and the external-attacher retries it with backoff until the node is unfenced.
   */
  #refuseFenced(volumeId: string, node: string, access: NodeAccess, logger: Logger): void {
    if (access.fenced === undefined) return;
    this.#options.metrics.conflict("node_fenced");
    logger.warn("publish refused: the node is fenced", { fenced: access.fenced });
    throw new FailedPreconditionError(
      `volume ${volumeId} cannot be published to node ${node}: the node is fenced (${access.fenced}); ` +
        `it may still hold connections from before its failure, so it gets no volume until it is unfenced`,
    );
  }

  /**
   * CSI ControllerPublishVolume errors: "Max volumes attached | 8 RESOURCE_EXHAUSTED | Indicates that the
   * maximum supported number of volumes that can be attached to the specified node are already attached."
   * The limit is the node plugin's max_volumes_per_node as kubelet wrote it into the CSINode.
   */
  #checkAttachLimit(volumeId: string, node: string, limit: number, logger: Logger): void {
    const { own, others } = this.#options.view.attachmentsOnNode(node, volumeId);
    const publishing = new Set([...this.#publishing].filter(([, nodes]) => nodes.has(node)).map(([volume]) => volume));
    const taking = volumesTakingSlots({ volumeId, own, others, publishing });
    if (taking.length < limit) return;
    this.#options.metrics.conflict("node_limit");
    logger.warn("publish refused: node attach limit reached", { limit, attached: taking.length });
    const shown = taking.slice(0, 5).join(", ") + (taking.length > 5 ? `, … (${taking.length - 5} more)` : "");
    throw new ResourceExhaustedError(
      `node ${node} already has ${taking.length} volumes of this driver attached or attaching, its limit ` +
        `(CSINode ${node} allocatable.count, the node plugin's --max-volumes-per-node): ${shown}; detach one first`,
    );
  }

  async #waitForSync(signal: AbortSignal): Promise<void> {
    if (this.#options.view.synced) return;
    await this.#options.view.waitForSync(signal);
  }

  /**
   * Sets the export's allow-list to the host NQNs of the nodes entitled to the volume now, computed and
   * written under the volume's queue so that two updates never land out of order. `requester` is the
   * node being published, with its Node as read at the start of the publish: without its host NQN the
   * publish fails, since it could not connect. Any other entitled node without one (its Node deleted,
   * the annotation gone) is left out: denying a node we cannot name is the safe side. So is an entitled
   * node that is fenced: its VolumeAttachment may still say attached, but the attachment-reconciler took
   * its host off the export, and writing the list again must not undo that (the reconciler gives it back
   * when it unfences the node). `everyone`: ControllerUnpublish without a node id leaves nobody.
   */
  async #applyHostAccess(
    volumeId: string,
    policy: AccessPolicy,
    requester: { readonly node: string; readonly access: NodeAccess } | undefined,
    logger: Logger,
    signal: AbortSignal,
    everyone = false,
  ): Promise<void> {
    await this.#hostAccessQueue.run(volumeId, signal, async () => {
      const { view, nodes, rds } = this.#options;
      const entitled = everyone
        ? [...nodesOf(this.#publishing, volumeId)]
        : entitledNodes(policy, view.attachmentsOf(volumeId), nodesOf(this.#publishing, volumeId), nodesOf(this.#leaving, volumeId));
      const accesses = await Promise.all(entitled.map((node) => (node === requester?.node ? requester.access : nodes.access(node, signal))));
      const hostNqns: string[] = [];
      const admitted: string[] = [];
      entitled.forEach((node, index) => {
        const { hostNqn, fenced } = accesses[index] as NodeAccess;
        if (fenced !== undefined) {
          logger.warn("entitled node is fenced; leaving it out of the export's allow-list", { holder: node, fenced });
        } else if (hostNqn !== undefined) {
          hostNqns.push(hostNqn);
          admitted.push(node);
        } else if (node === requester?.node) {
          throw new FailedPreconditionError(
            `node ${node} has no host NQN in its annotation rds.csi.srvlab.io/host-nqn, which the node plugin sets at start; host access control cannot admit it`,
          );
        } else {
          logger.warn("entitled node has no host NQN; leaving it out of the export's allow-list", { holder: node });
        }
      });
      await setExportAllowList(rds, volumeId, hostNqns, signal);
      logger.info("export allow-list set", { nodes: admitted, hosts: hostNqns.length });
    });
  }
}

function reserve(table: Map<string, Map<string, number>>, volumeId: string, nodeId: string): () => void {
  const counts = table.get(volumeId) ?? new Map<string, number>();
  table.set(volumeId, counts);
  counts.set(nodeId, (counts.get(nodeId) ?? 0) + 1);
  return () => {
    const left = (counts.get(nodeId) ?? 1) - 1;
    if (left > 0) counts.set(nodeId, left);
    else counts.delete(nodeId);
    if (counts.size === 0 && table.get(volumeId) === counts) table.delete(volumeId);
  };
}

function nodesOf(table: Map<string, Map<string, number>>, volumeId: string): ReadonlySet<string> {
  return new Set(table.get(volumeId)?.keys());
}
