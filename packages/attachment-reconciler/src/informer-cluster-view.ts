import type { CheckResult, Logger } from "@rds-csi/core";
import { RelistingInformer, type InformerTuningOverrides, type KubeClient, type PersistentVolume, type VolumeAttachment } from "@rds-csi/core/k8s";
import { nameOf, type ClusterNode, type NodeLease } from "./cluster-objects.js";
import type { ClusterView } from "./cluster-view.js";

const NODE_LEASE_NAMESPACE = "kube-node-lease";

/**
 * The reconciler's view of the cluster: four relisting informers (Nodes, node Leases, VolumeAttachments,
 * PVs). VolumeAttachments support no field selectors on a real API server, so this driver's are picked
 * by spec.attacher here; PVs are picked by spec.csi.driver. Pods are never watched: nothing the
 * reconciler decides needs them (the out-of-service taint has kube-controller-manager delete them).
 */
export class InformerClusterView implements ClusterView {
  readonly #driver: string;
  readonly #nodes: RelistingInformer<ClusterNode>;
  readonly #leases: RelistingInformer<NodeLease>;
  readonly #attachments: RelistingInformer<VolumeAttachment>;
  readonly #volumes: RelistingInformer<PersistentVolume>;
  /** this driver's VolumeAttachments by node name, then by name (spec.nodeName is immutable) */
  readonly #attachmentsByNode = new Map<string, Map<string, VolumeAttachment>>();

  constructor(options: { client: KubeClient; driverName: string; logger: Logger; tuning?: InformerTuningOverrides }) {
    const { client, logger, tuning } = options;
    this.#driver = options.driverName;
    this.#nodes = RelistingInformer.overApi(client, { resource: "nodes", path: "/api/v1/nodes", logger, tuning });
    this.#leases = RelistingInformer.overApi(client, { resource: "leases", path: `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`, logger, tuning });
    this.#attachments = RelistingInformer.overApi(client, { resource: "volumeattachments", path: "/apis/storage.k8s.io/v1/volumeattachments", logger, tuning });
    this.#volumes = RelistingInformer.overApi(client, { resource: "persistentvolumes", path: "/api/v1/persistentvolumes", logger, tuning });
    this.#attachments.onChange(({ type, object }) => {
      if (object.spec?.attacher !== this.#driver) return;
      const node = object.spec.nodeName;
      const onNode = this.#attachmentsByNode.get(node) ?? new Map<string, VolumeAttachment>();
      if (type === "deleted") onNode.delete(nameOf(object));
      else onNode.set(nameOf(object), object);
      if (onNode.size === 0) this.#attachmentsByNode.delete(node);
      else this.#attachmentsByNode.set(node, onNode);
    });
  }

  get #all() {
    return [this.#nodes, this.#leases, this.#attachments, this.#volumes] as const;
  }

  get synced(): boolean {
    return this.#all.every((informer) => informer.synced);
  }

  start(): void {
    for (const informer of this.#all) informer.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#all.map((informer) => informer.stop()));
  }

  async waitForSync(signal: AbortSignal): Promise<void> {
    await Promise.all(this.#all.map((informer) => informer.waitForSync(signal)));
  }

  /**
   * Calls `handler` with the name of each node whose work a change concerns: a Node's own; the node of
   * a VolumeAttachment of this driver (also when it goes: that may free the node for unfencing); the
   * nodes attached to a PV of this driver (its volume handle names what a VolumeAttachment holds).
   * Lease renewals are not such a change (every node renews every 10 s, and a renewal alone never calls
   * for a write): `onLease` reports them, and the periodic resync looks at every node.
   */
  onNodeWork(handler: (nodeName: string) => void): void {
    this.#nodes.onChange(({ object }) => handler(nameOf(object)));
    this.#attachments.onChange(({ object }) => {
      if (object.spec?.attacher === this.#driver) handler(object.spec.nodeName);
    });
    this.#volumes.onChange(({ object }) => {
      // Until every cache listed, nothing needs mapping: the resync once they have queues every node
      // (and the first list of 5,000 PVs would otherwise scan 5,000 VolumeAttachments each).
      if (object.spec?.csi?.driver !== this.#driver || !this.synced) return;
      for (const attachment of this.attachments()) if (attachment.spec.source.persistentVolumeName === nameOf(object)) handler(attachment.spec.nodeName);
    });
  }

  /** Calls `handler` with each node Lease as it arrives or changes, so a renewal is timed when it is seen. */
  onLease(handler: (lease: NodeLease) => void): void {
    this.#leases.onChange(({ type, object }) => {
      if (type !== "deleted") handler(object);
    });
  }

  check(): CheckResult {
    const failing = this.#all.map((informer) => informer.check()).filter((result) => !result.ok);
    return failing.length === 0 ? { ok: true } : { ok: false, detail: failing.map((result) => result.detail).join("; ") };
  }

  nodes(): readonly ClusterNode[] {
    return this.#nodes.list();
  }

  node(name: string): ClusterNode | undefined {
    return this.#nodes.get(name);
  }

  lease(nodeName: string): NodeLease | undefined {
    return this.#leases.get(`${NODE_LEASE_NAMESPACE}/${nodeName}`);
  }

  attachments(): readonly VolumeAttachment[] {
    return this.#attachments.list().filter((attachment) => attachment.spec?.attacher === this.#driver);
  }

  attachmentsOn(nodeName: string): readonly VolumeAttachment[] {
    return [...(this.#attachmentsByNode.get(nodeName)?.values() ?? [])];
  }

  persistentVolume(name: string): PersistentVolume | undefined {
    const volume = this.#volumes.get(name);
    return volume?.spec?.csi?.driver === this.#driver ? volume : undefined;
  }

  persistentVolumes(): readonly PersistentVolume[] {
    return this.#volumes.list().filter((volume) => volume.spec?.csi?.driver === this.#driver);
  }
}
