import type { CheckResult, Logger } from "@rds-csi/core";
import { RelistingInformer, type InformerTuningOverrides, type KubeClient, type PersistentVolume, type VolumeAttachment } from "@rds-csi/core/k8s";
import type { ClusterNode, NodeLease } from "./cluster-objects.js";
import type { ClusterView } from "./cluster-view.js";

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

  constructor(options: { client: KubeClient; driverName: string; logger: Logger; tuning?: InformerTuningOverrides }) {
    const { client, logger, tuning } = options;
    this.#driver = options.driverName;
    this.#nodes = RelistingInformer.overApi(client, { resource: "nodes", path: "/api/v1/nodes", logger, tuning });
    this.#leases = RelistingInformer.overApi(client, { resource: "leases", path: "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", logger, tuning });
    this.#attachments = RelistingInformer.overApi(client, { resource: "volumeattachments", path: "/apis/storage.k8s.io/v1/volumeattachments", logger, tuning });
    this.#volumes = RelistingInformer.overApi(client, { resource: "persistentvolumes", path: "/api/v1/persistentvolumes", logger, tuning });
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
   * Calls `handler` after a change a pass should look at soon: Nodes, VolumeAttachments, PVs. Lease
   * renewals are not such a change (every node renews every 10 s, and a renewal never calls for a
   * write); the passes on the interval read them.
   */
  onChange(handler: () => void): void {
    for (const informer of [this.#nodes, this.#attachments, this.#volumes]) informer.onChange(handler);
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

  leases(): readonly NodeLease[] {
    return this.#leases.list();
  }

  attachments(): readonly VolumeAttachment[] {
    return this.#attachments.list().filter((attachment) => attachment.spec?.attacher === this.#driver);
  }

  persistentVolume(name: string): PersistentVolume | undefined {
    const volume = this.#volumes.get(name);
    return volume?.spec?.csi?.driver === this.#driver ? volume : undefined;
  }

  persistentVolumes(): readonly PersistentVolume[] {
    return this.#volumes.list().filter((volume) => volume.spec?.csi?.driver === this.#driver);
  }
}
