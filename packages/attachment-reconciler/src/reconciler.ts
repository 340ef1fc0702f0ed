import { ConflictError, type Logger } from "@rds-csi/core";
import { CLEANED_UP_ANNOTATION, FENCE_ANNOTATION, hasOutOfServiceTaint, hostNqnOf, OUT_OF_SERVICE_TAINT, type EventRecorder, type EventRecord, type VolumeAttachment } from "@rds-csi/core/k8s";
import { EVENT_NAMESPACE, nameOf, readiness, volumeInUse, type ClusterNode, type NodeLease } from "./cluster-objects.js";
import type { ClusterWrites } from "./cluster-writes.js";
import { attacherFinalizer, volumeHandleOf, type ClusterView } from "./cluster-view.js";
import { FailureDetector } from "./failure-detector.js";
import { applyFenceBrakes, type FenceBrakesOptions } from "./fence-brakes.js";
import { fenceRecordOf, storageFenced, type FenceRecord, type StrategyResult } from "./fence-record.js";
import type { NodeState, ReconcilerMetrics } from "./reconciler-metrics.js";
import type { Holding, StorageFence, StorageFenceOutcome } from "./storage-fence.js";
import { NotLeaderError, type WriteGuard } from "./write-guard.js";

export interface ReconcilerOptions {
  readonly driverName: string;
  readonly view: ClusterView;
  readonly writes: ClusterWrites;
  readonly storage: StorageFence;
  /** The fence strategies in use (--fence-strategies). */
  readonly strategies: { readonly taint: boolean; readonly storage: boolean };
  readonly guard: WriteGuard;
  readonly events: EventRecorder;
  readonly metrics: ReconcilerMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** Not Ready and no Lease renewal seen for longer than this → failed. */
  readonly graceMs: number;
  readonly brakes: FenceBrakesOptions;
  /** A VolumeAttachment of a fenced node still being deleted after this long gets its attacher finalizer removed (storage-fenced nodes only). */
  readonly finalizerTimeoutMs: number;
  /** A fenced node must be Ready with a fresh Lease this long (and have reported its clean-up) before it is unfenced. */
  readonly stabilizationMs: number;
}

/**
 * Decides everything per node, from the cluster view as it is now: whether the node failed, whether to
 * fence it (behind the brakes, which look at the whole cluster), which of its VolumeAttachments to
 * free, whether to unfence it. Nothing is decided from the event that queued the node, so a call
 * that fails is simply made again (the work queue's retry), and several events fold into one call.
 * What must survive a change of leader (a fence under way, its results) is written on the Node; only
 * timings by this replica's own clock live here. Calls for different nodes may run at once; the
 * work queue never runs two for the same node.
 */
export class Reconciler {
  readonly #options: ReconcilerOptions;
  readonly #detector: FailureDetector;
  /** node → when (our clock) its failure was first detected */
  readonly #detectedAt = new Map<string, number>();
  /**
   * node → when (our clock) the brakes admitted its fence, until it is unfenced, recovers unfenced, or
   * goes. Counted as a recent fence before its record reaches the view, so fences admitted by calls
   * running at once never exceed the brakes; a fence admitted once is finished, never held.
   */
  readonly #admitted = new Map<string, number>();
  /** node → since when (our clock) it has been Ready with a fresh Lease while fenced */
  readonly #healthySince = new Map<string, number>();
  /** VolumeAttachment uid → its node and when (our clock) it was first seen being deleted */
  readonly #deletingSince = new Map<string, { readonly node: string; readonly since: number }>();
  /** volume handle → failure detection time of the node it was freed from, until it is attached elsewhere */
  readonly #moving = new Map<string, { readonly from: string; readonly detectedAt: number }>();
  /** node → its state as its last call left it (the node-state gauge) */
  readonly #states = new Map<string, NodeState>();
  /** nodes a dry run has already reported as "would fence" */
  readonly #dryRunFenced = new Set<string>();
  #paused: "mass_failure" | "rate_limit" | undefined;

  constructor(options: ReconcilerOptions) {
    this.#options = options;
    this.#detector = new FailureDetector({ graceMs: options.graceMs, now: options.now });
    options.metrics.storageFencingAvailable(options.storage.available);
  }

  /** Every node there is work for: the nodes in the view, and those this driver's VolumeAttachments still name (deleted nodes). */
  nodeNames(): string[] {
    const { view } = this.#options;
    return [...new Set([...view.nodes().map(nameOf), ...view.attachments().map((attachment) => attachment.spec.nodeName)])];
  }

  /** Records a Lease renewal as seen now (only a changed renewTime counts). */
  observeLease(lease: NodeLease): void {
    this.#detector.observeLease(nameOf(lease), lease.spec?.renewTime);
  }

  /**
   * Records the node's Lease renewal and readiness as seen now, without deciding anything: a standby
   * replica does this for every node, so when it becomes the leader its clock on each node is already running.
   */
  observe(nodeName: string): void {
    const { view } = this.#options;
    const lease = view.lease(nodeName);
    if (lease) this.observeLease(lease);
    const node = view.node(nodeName);
    if (node) this.#detector.assess(node);
  }

  /**
   * Decides and acts for one node. Throws NotLeaderError when leadership was lost (nothing more is
   * written), and any error that leaves the node's work unfinished, so the work queue calls again.
   */
  async reconcileNode(name: string, signal: AbortSignal): Promise<void> {
    const { view, now } = this.#options;
    this.observe(name);
    const node = view.node(name);
    if (node === undefined) {
      this.#forget(name);
      this.#reportStates();
      throwIfAny(name, await this.#freeAttachments(name, undefined, signal));
      return;
    }
    const record = fenceRecordOf(node);
    const health = this.#detector.assess(node);
    if (health.verdict === "failed" && !this.#detectedAt.has(name)) this.#detectedAt.set(name, Math.min(health.since, now()));
    if (health.verdict !== "failed" && record === undefined) {
      this.#detectedAt.delete(name);
      this.#admitted.delete(name);
    }
    // A fence a previous leader (or an earlier call) started is finished whatever the brakes say: it was admitted once.
    if (record?.phase === "started" || (record === undefined && this.#admitted.has(name))) await this.#fence(node, record, signal);
    else if (record === undefined && health.verdict === "failed" && this.#admit(name)) await this.#fence(node, undefined, signal);
    else if (this.#paused !== undefined) this.#admit(undefined);

    const failed = await this.#freeAttachments(name, view.node(name), signal);
    if (record?.phase === "done") await this.#maybeUnfence(node, record, signal);
    this.#trackFailovers(name);
    this.#states.set(name, this.#stateOf(view.node(name)));
    this.#reportStates();
    throwIfAny(name, failed);
  }

  /**
   * Whether the brakes admit a fence of `name` now (undefined: only bring the paused state up to
   * date). Decided from the whole view and synchronously, so two calls running at once never both
   * take the last place in the window.
   */
  #admit(name: string | undefined): boolean {
    const { view, now } = this.#options;
    const nodes = view.nodes();
    const candidates = nodes.filter((node) => fenceRecordOf(node) === undefined && !this.#admitted.has(nameOf(node)) && this.#detector.assess(node).verdict === "failed").map(nameOf);
    const verdict = applyFenceBrakes(this.#options.brakes, {
      candidates,
      notReady: nodes.filter((node) => readiness(node) !== "True").length,
      total: nodes.length,
      recentFences: nodes.flatMap((node) => {
        const record = fenceRecordOf(node);
        const at = record ? Date.parse(record.startedAt) : this.#admitted.get(nameOf(node));
        return at === undefined ? [] : [at];
      }),
      now: now(),
    });
    this.#reportBrakes(verdict.paused, verdict.paused ? verdict.held : []);
    if (name === undefined || !verdict.fence.includes(name)) return false;
    this.#admitted.set(name, now());
    return true;
  }

  /** Forgets a node that was deleted. */
  #forget(name: string): void {
    this.#detectedAt.delete(name);
    this.#admitted.delete(name);
    this.#healthySince.delete(name);
    this.#states.delete(name);
    this.#detector.forget(name);
  }

  #stateOf(node: ClusterNode | undefined): NodeState {
    if (node === undefined) return "healthy";
    const record = fenceRecordOf(node);
    if (record?.phase === "done") {
      const recovering = readiness(node) === "True" && this.#detector.leaseFresh(nameOf(node)) && !hasAdminTaint(node, record);
      return recovering ? "recovering" : "fenced";
    }
    return record ? "failed" : this.#detector.assess(node).verdict;
  }

  /** The node-state gauge, each node as its last call left it. */
  #reportStates(): void {
    const states: Record<NodeState, number> = { healthy: 0, suspect: 0, failed: 0, fenced: 0, recovering: 0 };
    for (const state of this.#states.values()) states[state]++;
    this.#options.metrics.nodeStates(states);
  }

  #reportBrakes(paused: "mass_failure" | "rate_limit" | undefined, held: readonly string[]): void {
    if (paused !== this.#paused) {
      if (paused) this.#options.logger.error("fencing paused by a safety brake", { reason: paused, held });
      else if (this.#paused) this.#options.logger.info("fencing resumed", { reason: this.#paused });
      this.#paused = paused;
    }
    this.#options.metrics.paused(paused);
  }

  /**
   * Storage side first, then the taint: volumes may move only after the old node is cut off. The record
   * on the Node is rewritten after each step, so a fence cut short (lost leadership, a taint patch that
   * lost a race with another writer of the Node) resumes at the step it stopped at and never repeats one.
   */
  async #fence(node: ClusterNode, started: FenceRecord | undefined, signal: AbortSignal): Promise<void> {
    const { guard, storage, metrics, logger, now } = this.#options;
    const name = nameOf(node);
    const log = logger.child({ node_id: name });
    if (guard.dryRun) {
      if (this.#dryRunFenced.has(name)) return;
      this.#dryRunFenced.add(name);
    }
    const detectedAt = started ? Date.parse(started.detectedAt) : (this.#detectedAt.get(name) ?? now());
    let record: FenceRecord = started ?? {
      phase: "started",
      detectedAt: new Date(detectedAt).toISOString(),
      startedAt: new Date(now()).toISOString(),
      strategies: {},
      cleanedUpBefore: node.metadata?.annotations?.[CLEANED_UP_ANNOTATION],
    };
    let current = node;
    if (!started) {
      log.warn("node failed; fencing it", { lease_silence_ms: this.#detector.leaseSilenceMs(name), ready: readiness(node) });
      current = await this.#record(current, record, "record the start of the fence", signal);
    } else {
      log.warn("finishing a fence that was cut short", { started_at: started.startedAt, done: record.strategies });
    }

    let outcome: StorageFenceOutcome | undefined;
    if (this.#options.strategies.storage && record.strategies.storage === undefined) {
      outcome = await storage.fence(name, hostNqnOf(node), this.#holdings(name), signal);
      metrics.fence("storage", outcome.result);
      if (outcome.result === "unavailable") log.warn("storage-side fencing unavailable; fencing with the taint alone", { detail: outcome.detail });
      else if (outcome.result === "failed") log.error("storage-side fence failed; fencing with the taint alone", { detail: outcome.detail });
      record = {
        ...record,
        strategies: { ...record.strategies, storage: outcome.result },
        ...(outcome.connectionsCut !== undefined && { connectionsCut: outcome.connectionsCut }),
        revoked: outcome.revoked,
      };
      current = await this.#record(current, record, "record the storage side of the fence", signal);
    }

    if (this.#options.strategies.taint && record.strategies.taint === undefined) {
      const taint = await this.#taint(current, log, signal);
      metrics.fence("taint", taint.result);
      record = { ...record, strategies: { ...record.strategies, taint: taint.result }, taintAdded: taint.added };
    }

    record = { ...record, phase: "done", doneAt: new Date(now()).toISOString() };
    await this.#record(current, record, "record the fence", signal);
    // Every volume the node held is now moving, whoever frees its VolumeAttachment: with the taint the
    // attach/detach controller may delete it and external-attacher detach it before the reconciler sees it.
    for (const attachment of this.#options.view.attachmentsOn(name)) {
      const handle = volumeHandleOf(this.#options.view, attachment);
      if (handle !== undefined && !this.#moving.has(handle)) this.#moving.set(handle, { from: name, detectedAt });
    }
    const seconds = (now() - detectedAt) / 1000;
    if (!guard.dryRun) metrics.fenceDone(seconds);
    log.warn(guard.dryRun ? "dry run: node would be fenced" : "node fenced", { strategies: record.strategies, connections_cut: record.connectionsCut, revoked: record.revoked, seconds });
    const subject = { apiVersion: "v1", kind: "Node", namespace: EVENT_NAMESPACE, name, uid: node.metadata?.uid };
    const { taint, storage: storageResult } = record.strategies;
    await this.#event(subject, "NodeFenced", `fenced after ${seconds.toFixed(1)} s: taint ${taint ?? "off"}, storage ${storageResult ?? "off"}${outcome ? ` (${outcome.detail})` : ""}`, signal);
    if (outcome?.result === "unavailable" || outcome?.result === "failed") await this.#event(subject, "StorageFenceUnavailable", outcome.detail, signal);
  }

  /** Adds the out-of-service taint. A lost race with another writer of the Node is thrown (the queue's retry resumes the fence); other errors are a failed step. */
  async #taint(node: ClusterNode, log: Logger, signal: AbortSignal): Promise<{ result: StrategyResult; added: boolean }> {
    if (hasOutOfServiceTaint(node)) return { result: "success", added: false };
    const name = nameOf(node);
    try {
      const wrote = await this.#options.guard.write(`taint node ${name} ${OUT_OF_SERVICE_TAINT.key}=${OUT_OF_SERVICE_TAINT.value}:${OUT_OF_SERVICE_TAINT.effect}`, { node_id: name }, () =>
        this.#options.writes.addNodeTaint(node, OUT_OF_SERVICE_TAINT, signal),
      );
      return { result: wrote ? "success" : "dry_run", added: wrote };
    } catch (err) {
      if (err instanceof NotLeaderError || err instanceof ConflictError || signal.aborted) throw err;
      log.error("cannot taint the node out of service", { error: (err as Error).message });
      return { result: "failed", added: false };
    }
  }

  /** Writes the fence record on the Node; returns the Node as written (or as it was, in dry-run). */
  async #record(node: ClusterNode, record: FenceRecord, what: string, signal: AbortSignal): Promise<ClusterNode> {
    const name = nameOf(node);
    let written = node;
    await this.#options.guard.write(`${what} of node ${name}`, { node_id: name, record }, async () => {
      written = await this.#options.writes.setNodeAnnotation(name, FENCE_ANNOTATION, JSON.stringify(record), signal);
    });
    return written;
  }

  /** The exports a node holds, with the other nodes' host NQNs that must stay admitted. */
  #holdings(nodeName: string): Holding[] {
    const { view } = this.#options;
    const byVolume = new Map<string, Set<string>>();
    const holders = new Map<string, Set<string>>();
    for (const attachment of view.attachments()) {
      const handle = volumeHandleOf(view, attachment);
      if (handle === undefined) continue;
      const nodes = holders.get(handle) ?? new Set<string>();
      nodes.add(attachment.spec.nodeName);
      holders.set(handle, nodes);
      if (attachment.spec.nodeName === nodeName) byVolume.set(handle, nodes);
    }
    return [...byVolume.keys()].map((volumeId) => ({
      volumeId,
      otherHosts: [...(holders.get(volumeId) ?? [])]
        .filter((node) => node !== nodeName)
        .flatMap((node) => {
          const other = view.node(node);
          const hostNqn = other && hostNqnOf(other);
          return hostNqn ? [hostNqn] : [];
        }),
    }));
  }

  /**
   * The node's VolumeAttachments, when it is fenced or deleted, are deleted, so the external-attacher
   * unpublishes them and the volume can move. One still being deleted past the timeout on a node fenced
   * on the storage side (live connections cut) loses the attacher's finalizer. A VolumeAttachment whose
   * node is Ready and reports the volume in use is never touched. A write that fails does not hold up
   * the node's other VolumeAttachments, nor the rest of its turn: the failures are returned, and the
   * turn throws them at its end, so the queue retries.
   */
  async #freeAttachments(nodeName: string, node: ClusterNode | undefined, signal: AbortSignal): Promise<string[]> {
    const { view, writes, guard, metrics, logger, now, driverName } = this.#options;
    const finalizer = attacherFinalizer(driverName);
    const record = node ? fenceRecordOf(node) : undefined;
    const seen = new Set<string>();
    const failed: string[] = [];
    for (const attachment of view.attachmentsOn(nodeName)) {
      const uid = attachment.metadata?.uid ?? "";
      seen.add(uid);
      if (node && record?.phase !== "done") continue;
      const handle = volumeHandleOf(view, attachment);
      if (node && inUseOnReadyNode(node, driverName, handle)) continue;
      const log = logger.child({ node_id: nodeName, volume_id: handle, attachment: nameOf(attachment) });
      const subject = { apiVersion: "storage.k8s.io/v1", kind: "VolumeAttachment", namespace: EVENT_NAMESPACE, name: nameOf(attachment), uid };
      if (attachment.metadata?.deletionTimestamp === undefined) {
        const wrote = await this.#tolerant(log, "delete the VolumeAttachment", failed, () =>
          guard.write(`delete VolumeAttachment ${nameOf(attachment)} of ${node ? "fenced" : "deleted"} node ${nodeName}`, { node_id: nodeName }, () =>
            writes.deleteVolumeAttachment(attachment, signal),
          ),
        );
        if (!wrote) continue;
        metrics.attachmentFreed();
        if (handle !== undefined && !this.#moving.has(handle)) this.#moving.set(handle, { from: nodeName, detectedAt: this.#detectedAt.get(nodeName) ?? now() });
        log.warn("VolumeAttachment deleted so the volume can move", { reason: node ? "node fenced" : "node deleted" });
        await this.#event(subject, "VolumeAttachmentFreed", `deleted: node ${nodeName} is ${node ? "fenced" : "gone"}`, signal);
        continue;
      }
      const since = this.#deletingSince.get(uid)?.since ?? now();
      this.#deletingSince.set(uid, { node: nodeName, since });
      if (!(attachment.metadata.finalizers ?? []).includes(finalizer)) continue;
      if (now() - since < this.#options.finalizerTimeoutMs || !storageFenced(record)) continue;
      if (handle !== undefined && !(await this.#keepShutOut(node as ClusterNode, handle, log, failed, signal))) continue;
      const wrote = await this.#tolerant(log, "remove the attacher's finalizer", failed, () =>
        guard.write(`remove finalizer ${finalizer} from VolumeAttachment ${nameOf(attachment)}`, { node_id: nodeName }, () =>
          writes.removeVolumeAttachmentFinalizer(attachment, finalizer, signal),
        ),
      );
      if (!wrote) continue;
      metrics.finalizerRemoved();
      log.warn("attacher finalizer removed: the detach was stuck and the node is fenced on the storage side", { stuck_ms: now() - since });
      await this.#event(subject, "AttacherFinalizerRemoved", `detach stuck for ${Math.round((now() - since) / 1000)} s on storage-fenced node ${nodeName}; finalizer ${finalizer} removed`, signal);
    }
    for (const [uid, deleting] of this.#deletingSince) if (deleting.node === nodeName && !seen.has(uid)) this.#deletingSince.delete(uid);
    return failed;
  }

  /**
   * Whether the export of `volumeId` still shuts the storage-fenced node out (shut out again when an
   * allow-list written after the fence let it back in): the condition for removing the attacher's
   * finalizer, since the volume may then be attached elsewhere at once. False, with the failure added to
   * `failed`, when that cannot be made sure of; the finalizer then stays.
   */
  async #keepShutOut(node: ClusterNode, volumeId: string, log: Logger, failed: string[], signal: AbortSignal): Promise<boolean> {
    const name = nameOf(node);
    return this.#tolerant(log, `make sure the export of ${volumeId} still shuts the fenced node out (the attacher's finalizer stays until then)`, failed, async () => {
      const hostNqn = hostNqnOf(node);
      if (hostNqn === undefined) throw new Error(`node ${name} has no host NQN in its annotation rds.csi.srvlab.io/host-nqn`);
      // Found: the VolumeAttachment being freed is on the node and names the volume.
      const holding = this.#holdings(name).find((each) => each.volumeId === volumeId) as Holding;
      const { again } = await this.#options.storage.keepShutOut(name, hostNqn, holding, signal);
      if (again) log.warn("the export admitted the fenced node again (an allow-list written after the fence); shut it out again", { host_nqn: hostNqn });
      return true;
    });
  }

  /**
   * A fenced node is unfenced once it has been Ready with a Lease seen renewed for the stabilisation
   * period, its node plugin has reported its clean-up since the fence, and every VolumeAttachment of
   * this driver left on it is one the freeing step keeps (the node uses the volume); any other is being,
   * or was just, deleted, and the unfence waits until it is gone. The node's host is admitted again to
   * the exports of those it kept attached, before the fence record goes, so a failed write keeps the
   * node fenced until the queue's retry succeeds. An out-of-service taint an administrator set stays theirs.
   */
  async #maybeUnfence(node: ClusterNode, record: FenceRecord, signal: AbortSignal): Promise<void> {
    const { view, writes, guard, logger, now } = this.#options;
    const name = nameOf(node);
    const healthy = readiness(node) === "True" && this.#detector.leaseFresh(name);
    if (!healthy) {
      this.#healthySince.delete(name);
      return;
    }
    const since = this.#healthySince.get(name) ?? now();
    this.#healthySince.set(name, since);
    if (now() - since < this.#options.stabilizationMs) return;
    const cleanedUp = node.metadata?.annotations?.[CLEANED_UP_ANNOTATION];
    if (cleanedUp === undefined || cleanedUp === record.cleanedUpBefore) return;
    const left = view.attachmentsOn(name);
    const kept = (attachment: VolumeAttachment): boolean =>
      attachment.metadata?.deletionTimestamp === undefined && inUseOnReadyNode(node, this.#options.driverName, volumeHandleOf(view, attachment));
    if (!left.every(kept)) return;
    const log = logger.child({ node_id: name });
    if (!(await this.#restoreAccess(node, left.filter((attachment) => attachment.status?.attached === true), log, signal))) return;
    if (record.taintAdded && hasOutOfServiceTaint(node)) {
      await guard.write(`remove the out-of-service taint from node ${name}`, { node_id: name }, () => writes.removeNodeTaint(node, OUT_OF_SERVICE_TAINT, signal));
    }
    const cleared = await guard.write(`clear the fence record of node ${name}`, { node_id: name }, async () => {
      await writes.setNodeAnnotation(name, FENCE_ANNOTATION, null, signal);
    });
    if (!cleared) return;
    this.#admitted.delete(name);
    this.#healthySince.delete(name);
    this.#detectedAt.delete(name);
    this.#dryRunFenced.delete(name);
    log.info("node unfenced: Ready with a fresh Lease and its node plugin reported its clean-up", { cleaned_up: cleanedUp });
    await this.#event({ apiVersion: "v1", kind: "Node", namespace: EVENT_NAMESPACE, name, uid: node.metadata?.uid }, "NodeUnfenced", `Ready for ${Math.round((now() - since) / 1000)} s and cleaned up at ${cleanedUp}`, signal);
  }

  /**
   * Gives the node's host access back to the exports of `attachments` (its VolumeAttachments that are
   * still attached), with a log line and an `AccessRestored` event on each one whose allow-list was
   * written. False when the Node has no host NQN (its annotation queues the node again); a failed write
   * is thrown. Either way the unfence waits.
   */
  async #restoreAccess(node: ClusterNode, attachments: readonly VolumeAttachment[], log: Logger, signal: AbortSignal): Promise<boolean> {
    const { view, storage } = this.#options;
    if (attachments.length === 0 || !storage.available) return true;
    const name = nameOf(node);
    const hostNqn = hostNqnOf(node);
    if (hostNqn === undefined) {
      log.warn("cannot give the node access back to its exports: no host NQN in its annotation rds.csi.srvlab.io/host-nqn; the unfence waits for it");
      return false;
    }
    const byVolume = new Map(attachments.flatMap((attachment) => {
      const handle = volumeHandleOf(view, attachment);
      return handle === undefined ? [] : [[handle, attachment] as const];
    }));
    let restored: string[];
    try {
      restored = await storage.restore(name, hostNqn, [...byVolume.keys()], signal);
    } catch (err) {
      if (!(err instanceof NotLeaderError || this.#aborted(err))) log.warn("cannot give the node access back to its exports; retrying with backoff", { error: (err as Error).message });
      throw err;
    }
    for (const volumeId of restored) {
      const attachment = byVolume.get(volumeId) as VolumeAttachment;
      log.info("export access given back: the node is unfenced and its VolumeAttachment is still attached", { volume_id: volumeId, attachment: nameOf(attachment), host_nqn: hostNqn });
      const subject = { apiVersion: "storage.k8s.io/v1", kind: "VolumeAttachment", namespace: EVENT_NAMESPACE, name: nameOf(attachment), uid: attachment.metadata?.uid };
      await this.#event(subject, "AccessRestored", `node ${name} is unfenced and still attached: its host ${hostNqn} is admitted to the export of ${volumeId} again`, signal);
    }
    return true;
  }

  /** Observes the failover time of each volume that moved and is now attached to this node. */
  #trackFailovers(nodeName: string): void {
    const { view, metrics, now, logger } = this.#options;
    if (this.#moving.size === 0) return;
    for (const attachment of view.attachmentsOn(nodeName)) {
      if (attachment.status?.attached !== true) continue;
      const handle = volumeHandleOf(view, attachment);
      const moving = handle === undefined ? undefined : this.#moving.get(handle);
      if (moving === undefined || nodeName === moving.from) continue;
      const seconds = (now() - moving.detectedAt) / 1000;
      metrics.failover(seconds);
      logger.info("volume attached to another node after a failure", { volume_id: handle, from: moving.from, to: nodeName, seconds });
      this.#moving.delete(handle as string);
    }
  }

  /** Runs one write; a failure other than lost leadership or cancellation is logged and added to `failed` (the caller throws once its other writes were tried). */
  async #tolerant(log: Logger, what: string, failed: string[], write: () => Promise<boolean>): Promise<boolean> {
    try {
      return await write();
    } catch (err) {
      if (err instanceof NotLeaderError || this.#aborted(err)) throw err;
      log.warn(`cannot ${what}; retrying with backoff`, { error: (err as Error).message });
      failed.push(`${what}: ${(err as Error).message}`);
      return false;
    }
  }

  #aborted(err: unknown): boolean {
    return err instanceof Error && err.name === "AbortError";
  }

  async #event(subject: EventRecord["subject"], reason: string, message: string, signal: AbortSignal): Promise<void> {
    try {
      await this.#options.guard.write(`post event ${reason} on ${subject.kind} ${subject.name}`, {}, () =>
        this.#options.events.record({ subject, type: NORMAL_EVENTS.has(reason) ? "Normal" : "Warning", reason, message }, signal),
      );
    } catch (err) {
      if (err instanceof NotLeaderError) throw err;
      this.#options.logger.warn("cannot post an event", { reason, error: (err as Error).message });
    }
  }
}

/** Fails a node's turn with the writes that failed in it (the queue retries the node after its backoff). */
function throwIfAny(nodeName: string, failed: readonly string[]): void {
  if (failed.length > 0) throw new Error(`node ${nodeName}: cannot ${failed.join("; ")}`);
}

/** Events about things going back to normal; every other event of the reconciler is a warning. */
const NORMAL_EVENTS: ReadonlySet<string> = new Set(["NodeUnfenced", "AccessRestored"]);

/** The node is Ready and its kubelet reports the volume in use: its VolumeAttachment is never freed. */
function inUseOnReadyNode(node: ClusterNode, driverName: string, handle: string | undefined): boolean {
  return readiness(node) === "True" && handle !== undefined && volumeInUse(node, driverName, handle);
}

/** An out-of-service taint the reconciler did not add: the administrator's, to be removed by them. */
function hasAdminTaint(node: ClusterNode, record: FenceRecord): boolean {
  return hasOutOfServiceTaint(node) && record.taintAdded !== true;
}
