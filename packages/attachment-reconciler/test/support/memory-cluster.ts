import { Writable } from "node:stream";
import { ConflictError, createLogger, MetricsRegistry, NotFoundError, type Logger } from "@rds-csi/core";
import type { EventRecord, EventRecorder, PersistentVolume, Taint, VolumeAttachment } from "@rds-csi/core/k8s";
import type { RdsClient, RdsVolume } from "@rds-csi/core/routeros";
import type { ClusterNode, NodeLease } from "../../src/cluster-objects.js";
import type { ClusterView } from "../../src/cluster-view.js";
import type { ClusterWrites } from "../../src/cluster-writes.js";
import { ReconcilerMetrics } from "../../src/reconciler-metrics.js";

// Test support: the cluster and the RDS as plain in-memory state, for unit tests of the reconciler's
// decisions (the scenario tests run the real processes against the fake API server and the simulator).

export const DRIVER = "rds.csi.srvlab.io";

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** A fake clock tests move by hand. */
export class FakeClock {
  ms = Date.parse("2026-01-01T00:00:00Z");
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export function hostNqn(node: string): string {
  return `nqn.2014-08.org.nvmexpress:uuid:${node}`;
}

/** The nodes, Leases, VolumeAttachments and PVs of a cluster, and every write made to them. */
export class MemoryCluster implements ClusterView, ClusterWrites, EventRecorder {
  readonly #nodes = new Map<string, Mutable<ClusterNode>>();
  readonly #leases = new Map<string, Mutable<NodeLease>>();
  readonly #attachments = new Map<string, Mutable<VolumeAttachment>>();
  readonly #volumes = new Map<string, PersistentVolume>();
  readonly writes: string[] = [];
  readonly events: EventRecord[] = [];
  /** how many taint patches still fail as if another writer changed the Node first */
  taintConflicts = 0;
  /** how many annotation patches still fail as if the API server answered 500 */
  annotationFailures = 0;
  /** VolumeAttachments whose delete the API server refuses (500), by name */
  readonly undeletable = new Set<string>();
  #renewals = 0;

  addNode(name: string, ready = true): void {
    this.#nodes.set(name, {
      metadata: { name, uid: `uid-${name}`, annotations: { "rds.csi.srvlab.io/host-nqn": hostNqn(name) } },
      spec: { taints: [] },
      status: { conditions: [{ type: "Ready", status: ready ? "True" : "Unknown" }], volumesInUse: [] },
    } as Mutable<ClusterNode>);
    this.renew(name);
  }

  setReady(name: string, status: "True" | "False" | "Unknown"): void {
    const node = this.#require(name);
    (node.status as { conditions: unknown }).conditions = [{ type: "Ready", status }];
  }

  /** The kubelet renews the node's Lease (a new renewTime). */
  renew(name: string): void {
    this.#renewals++;
    this.#leases.set(name, { metadata: { name, namespace: "kube-node-lease" }, spec: { holderIdentity: name, renewTime: `2026-01-01T00:00:00.${String(this.#renewals).padStart(6, "0")}Z` } });
  }

  annotate(name: string, key: string, value: string): void {
    const node = this.#require(name);
    node.metadata = { ...node.metadata, annotations: { ...node.metadata?.annotations, [key]: value } };
  }

  deleteNode(name: string): void {
    this.#nodes.delete(name);
    this.#leases.delete(name);
  }

  /** A PV of the driver for `volumeId` and a VolumeAttachment of it on `node`, attached, with the attacher's finalizer. */
  attach(volumeId: string, node: string, inUse = true): string {
    this.#volumes.set(volumeId, { metadata: { name: volumeId }, spec: { accessModes: ["ReadWriteOnce"], csi: { driver: DRIVER, volumeHandle: volumeId } } });
    const name = `csi-${volumeId}-${node}`;
    this.#attachments.set(name, {
      metadata: { name, uid: `uid-${name}`, finalizers: ["external-attacher/rds-csi-srvlab-io"] },
      spec: { attacher: DRIVER, nodeName: node, source: { persistentVolumeName: volumeId } },
      status: { attached: true },
    } as Mutable<VolumeAttachment>);
    if (inUse) (this.#require(node).status?.volumesInUse as string[]).push(`kubernetes.io/csi/${DRIVER}^${volumeId}`);
    return name;
  }

  forgetPersistentVolume(name: string): void {
    this.#volumes.delete(name);
  }

  attachment(name: string): VolumeAttachment | undefined {
    return this.#attachments.get(name);
  }

  removeAttachment(name: string): void {
    this.#attachments.delete(name);
  }

  // ClusterView
  nodes(): readonly ClusterNode[] {
    return [...this.#nodes.values()];
  }
  node(name: string): ClusterNode | undefined {
    return this.#nodes.get(name);
  }
  lease(nodeName: string): NodeLease | undefined {
    return this.#leases.get(nodeName);
  }
  attachments(): readonly VolumeAttachment[] {
    return [...this.#attachments.values()];
  }
  attachmentsOn(nodeName: string): readonly VolumeAttachment[] {
    return this.attachments().filter((attachment) => attachment.spec.nodeName === nodeName);
  }
  persistentVolume(name: string): PersistentVolume | undefined {
    return this.#volumes.get(name);
  }

  // ClusterWrites
  async addNodeTaint(node: ClusterNode, taint: Taint): Promise<void> {
    if (this.taintConflicts > 0) {
      this.taintConflicts--;
      throw new ConflictError(`Node ${node.metadata?.name} changed since it was read`);
    }
    this.writes.push(`taint ${node.metadata?.name}`);
    (this.#require(node.metadata?.name ?? "").spec?.taints as Taint[]).push({ ...taint });
  }
  async removeNodeTaint(node: ClusterNode, taint: Taint): Promise<void> {
    this.writes.push(`untaint ${node.metadata?.name}`);
    const spec = this.#require(node.metadata?.name ?? "").spec as { taints: Taint[] };
    spec.taints = spec.taints.filter((each) => each.key !== taint.key);
  }
  async setNodeAnnotation(nodeName: string, key: string, value: string | null): Promise<ClusterNode> {
    // As over the network, the change lands after the caller went on (its informer sees it later still).
    await Promise.resolve();
    if (this.annotationFailures > 0) {
      this.annotationFailures--;
      this.writes.push(`annotate ${nodeName} failed`);
      throw new Error("Internal error occurred: etcdserver: request timed out");
    }
    this.writes.push(`annotate ${nodeName} ${key}${value === null ? " (removed)" : ""}`);
    const node = this.#require(nodeName);
    const annotations = { ...node.metadata?.annotations };
    if (value === null) delete annotations[key];
    else annotations[key] = value;
    node.metadata = { ...node.metadata, annotations };
    return node;
  }
  async deleteVolumeAttachment(attachment: VolumeAttachment): Promise<void> {
    const name = attachment.metadata?.name ?? "";
    if (this.undeletable.has(name)) throw new Error("Internal error occurred: etcdserver: request timed out");
    this.writes.push(`delete ${name}`);
    const stored = this.#attachments.get(name);
    if (!stored) throw new NotFoundError(`VolumeAttachment ${name} not found`);
    if ((stored.metadata?.finalizers ?? []).length > 0) stored.metadata = { ...stored.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" };
    else this.#attachments.delete(name);
  }
  async removeVolumeAttachmentFinalizer(attachment: VolumeAttachment, finalizer: string): Promise<void> {
    const name = attachment.metadata?.name ?? "";
    this.writes.push(`unfinalize ${name}`);
    const stored = this.#attachments.get(name);
    if (!stored) throw new NotFoundError(`VolumeAttachment ${name} not found`);
    const finalizers = (stored.metadata?.finalizers ?? []).filter((each) => each !== finalizer);
    if (finalizers.length === 0 && stored.metadata?.deletionTimestamp !== undefined) this.#attachments.delete(name);
    else stored.metadata = { ...stored.metadata, finalizers };
  }

  // EventRecorder
  async record(event: EventRecord): Promise<void> {
    this.events.push(event);
  }

  #require(name: string): Mutable<ClusterNode> {
    const node = this.#nodes.get(name);
    if (!node) throw new NotFoundError(`node ${name} not found`);
    return node;
  }
}

/** The volumes of an RDS and their allow-lists, as much of RdsClient as the fence and the audit use. */
export class MemoryRds {
  /** volume id → allow-list */
  readonly allowed = new Map<string, string[]>();
  readonly deleted: string[] = [];
  /** backing files under the base path that no disk uses */
  readonly orphanFiles: string[] = [];
  failing = false;

  asRdsClient(): RdsClient {
    return {
      getVolume: async (id: string) => this.#volume(id),
      listVolumes: async () => [...this.allowed.keys()].map((id) => this.#volume(id) as RdsVolume),
      listOrphanFiles: async () => this.orphanFiles.map((path) => ({ path })),
      deleteVolume: async (id: string) => {
        this.deleted.push(id);
        this.allowed.delete(id);
      },
      setAllowedHosts: async (id: string, hosts: readonly string[]) => {
        if (this.failing) throw new Error("the RDS does not answer");
        this.allowed.set(id, [...hosts]);
        return this.#volume(id) as RdsVolume;
      },
    } as unknown as RdsClient;
  }

  #volume(id: string): RdsVolume | undefined {
    const allowedHosts = this.allowed.get(id);
    if (allowedHosts === undefined) return undefined;
    return { id, filePath: `/pool/${id}.img`, sizeBytes: 1n, nqn: `nqn:${id}`, port: 4420, exported: true, allowedHosts };
  }
}

/** A logger that keeps its JSON lines for the test to read. */
export function recordingLogger(): { logger: Logger; lines: () => { level: string; message: string; [key: string]: unknown }[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return {
    logger: createLogger({ level: "debug", component: "test", stream }),
    lines: () => chunks.join("").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as { level: string; message: string }),
  };
}

export function testMetrics(): { registry: MetricsRegistry; metrics: ReconcilerMetrics } {
  const registry = new MetricsRegistry();
  return { registry, metrics: new ReconcilerMetrics(registry) };
}
