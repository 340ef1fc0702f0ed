import { createHash } from "node:crypto";
import { AlreadyExistsError, NotFoundError, type Logger } from "@rds-csi/core";
import {
  keyOf,
  RelistingInformer,
  runWorkers,
  WorkQueue,
  type KubeClient,
  type KubeObject,
  type PersistentVolume,
  type VolumeAttachment,
} from "@rds-csi/core/k8s";

/** The out-of-service taint of non-graceful node shutdown (KEP-2268; GA in Kubernetes 1.28). */
export const OUT_OF_SERVICE_TAINT = "node.kubernetes.io/out-of-service";

interface Pod extends KubeObject {
  readonly spec?: { readonly nodeName?: string; readonly volumes?: readonly { readonly persistentVolumeClaim?: { readonly claimName: string } }[] };
  readonly status?: { readonly phase?: string };
}
interface Claim extends KubeObject {
  readonly spec?: { readonly volumeName?: string };
}
interface Node extends KubeObject {
  readonly spec?: { readonly taints?: readonly { readonly key: string; readonly effect: string }[] };
  readonly status?: { readonly conditions?: readonly { readonly type: string; readonly status: string }[]; readonly volumesInUse?: readonly string[] };
}

/**
 * The name kube-controller-manager gives a CSI VolumeAttachment: pkg/volume/csi/csi_attacher.go
 * getAttachmentName, "csi-" + hex(sha256(volumeHandle + driverName + nodeName)).
 */
export function attachmentNameOf(volumeHandle: string, driverName: string, nodeName: string): string {
  return `csi-${createHash("sha256").update(`${volumeHandle}${driverName}${nodeName}`).digest("hex")}`;
}

export interface AttachDetachControllerOptions {
  /** a client sending User-Agent `kube-controller-manager` */
  readonly client: KubeClient;
  readonly driverName: string;
  readonly logger: Logger;
  /**
   * How long a volume no pod wants any more may still be mounted (in the Node's volumesInUse) on an
   * unhealthy node before it is detached anyway: kube-controller-manager's maxWaitForUnmountDuration,
   * 6 min. Compressed in tests.
   */
  readonly maxWaitForUnmountMs?: number;
  readonly relistIntervalMs?: number;
}

/**
 * A stand-in for kube-controller-manager's attach-detach controller and the parts of pod GC and the
 * taint manager that non-graceful shutdown relies on, for PVs of one CSI driver, modelled on Kubernetes
 * v1.33 (pkg/controller/volume/attachdetach: desired state from scheduled, non-terminated pods; the
 * reconciler attaches what is desired and detaches what is not, waiting while the node still lists
 * the volume in `status.volumesInUse` unless the node has the out-of-service taint, or the node is
 * unhealthy and maxWaitForUnmountDuration has passed; pkg/controller/podgc gcTerminating and the
 * NoExecute taint eviction: pods on a NotReady node with the out-of-service taint are force-deleted).
 * Attaching is creating the VolumeAttachment (named by getAttachmentName, `spec.attacher` the driver,
 * `source.persistentVolumeName`); detaching is deleting it. external-attacher does the rest.
 * Not modelled: inline CSI volumes, the attach limit, multi-attach errors for RWO (it creates a second
 * VA when a pod elsewhere wants the volume; the driver's controller must refuse the publish).
 */
export class AttachDetachControllerStandIn {
  readonly #options: AttachDetachControllerOptions;
  readonly #pods: RelistingInformer<Pod>;
  readonly #claims: RelistingInformer<Claim>;
  readonly #volumes: RelistingInformer<PersistentVolume>;
  readonly #nodes: RelistingInformer<Node>;
  readonly #attachments: RelistingInformer<VolumeAttachment>;
  readonly #queue = new WorkQueue({ baseDelayMs: 50, maxDelayMs: 2_000 });
  readonly #stopping = new AbortController();
  /** when (ms since the epoch) each VA stopped being desired while its volume was still in use */
  readonly #undesiredSince = new Map<string, number>();
  /** VAs this controller deleted, until its cache shows them terminating or gone (its actual state of world) */
  readonly #detaching = new Set<string>();
  #workers: Promise<void> | undefined;

  constructor(options: AttachDetachControllerOptions) {
    this.#options = options;
    const informer = <T extends KubeObject>(resource: string, path: string): RelistingInformer<T> =>
      RelistingInformer.overApi<T>(options.client, {
        resource,
        path,
        logger: options.logger,
        tuning: { relistIntervalMs: options.relistIntervalMs ?? 5_000, backoffInitialMs: 50, backoffMaxMs: 1_000 },
      });
    this.#pods = informer("pods", "/api/v1/pods");
    this.#claims = informer("persistentvolumeclaims", "/api/v1/persistentvolumeclaims");
    this.#volumes = informer("persistentvolumes", "/api/v1/persistentvolumes");
    this.#nodes = informer("nodes", "/api/v1/nodes");
    this.#attachments = informer("volumeattachments", "/apis/storage.k8s.io/v1/volumeattachments");
    // Work is keyed by node: every change that can alter what a node should have attached queues it.
    this.#pods.onChange(({ object }) => object.spec?.nodeName && this.#queue.add(object.spec.nodeName));
    this.#nodes.onChange(({ object }) => this.#queue.add(keyOf(object)));
    this.#attachments.onChange(({ object }) => object.spec.attacher === options.driverName && this.#queue.add(object.spec.nodeName));
    const everyNode = (): void => {
      for (const node of this.#nodes.list()) this.#queue.add(keyOf(node));
    };
    this.#claims.onChange(everyNode);
    this.#volumes.onChange(everyNode);
  }

  start(): void {
    for (const informer of this.#informers()) informer.start();
    this.#workers = runWorkers(this.#queue, { name: "attach-detach", workers: 2, logger: this.#options.logger, handle: (node, signal) => this.#reconcile(node, signal) }, this.#stopping.signal);
    // The real reconciler also runs every 100 ms; a slower tick re-checks the unmount wait.
    const tick = setInterval(() => {
      for (const node of this.#nodes.list()) this.#queue.add(keyOf(node));
    }, 200);
    this.#stopping.signal.addEventListener("abort", () => clearInterval(tick), { once: true });
  }

  async stop(): Promise<void> {
    this.#stopping.abort(new Error("attach-detach stand-in stopped"));
    await this.#workers;
    await Promise.all(this.#informers().map((informer) => informer.stop()));
  }

  async waitForSync(signal: AbortSignal): Promise<void> {
    await Promise.all(this.#informers().map((informer) => informer.waitForSync(signal)));
  }

  #informers(): RelistingInformer<KubeObject>[] {
    return [this.#pods, this.#claims, this.#volumes, this.#nodes, this.#attachments] as RelistingInformer<KubeObject>[];
  }

  async #reconcile(nodeName: string, signal: AbortSignal): Promise<void> {
    if (!this.#pods.synced || !this.#attachments.synced || !this.#volumes.synced || !this.#claims.synced || !this.#nodes.synced) {
      throw new Error("caches not synced yet");
    }
    const { client, driverName } = this.#options;
    const node = this.#nodes.get(nodeName);
    const outOfService = node?.spec?.taints?.some((t) => t.key === OUT_OF_SERVICE_TAINT) === true;
    const ready = node?.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    const pods = this.#pods.list().filter((pod) => pod.spec?.nodeName === nodeName);
    if (outOfService && !ready) {
      // podgc gcTerminating + taint eviction: the node's pods are force-deleted, so their volumes
      // leave the desired state at once.
      for (const pod of pods) {
        const { namespace, name } = pod.metadata ?? {};
        await client
          .delete(`force-delete Pod ${namespace}/${name}`, `/api/v1/namespaces/${namespace}/pods/${name}`, signal, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } })
          .catch((err: unknown) => {
            if (!(err instanceof NotFoundError)) throw err;
          });
      }
    }
    const desired = new Map<string, { handle: string; pv: string }>();
    for (const pod of outOfService && !ready ? [] : pods) {
      if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") continue;
      for (const volume of pod.spec?.volumes ?? []) {
        const claimName = volume.persistentVolumeClaim?.claimName;
        const pvName = claimName && this.#claims.get(`${pod.metadata?.namespace}/${claimName}`)?.spec?.volumeName;
        const csi = pvName ? this.#volumes.get(pvName)?.spec?.csi : undefined;
        if (pvName && csi?.driver === driverName) desired.set(attachmentNameOf(csi.volumeHandle, driverName, nodeName), { handle: csi.volumeHandle, pv: pvName });
      }
    }
    for (const [name, { pv }] of desired) {
      if (this.#attachments.get(name) !== undefined) continue;
      await client
        .create(
          `create VolumeAttachment ${name}`,
          "/apis/storage.k8s.io/v1/volumeattachments",
          { apiVersion: "storage.k8s.io/v1", kind: "VolumeAttachment", metadata: { name }, spec: { attacher: driverName, nodeName, source: { persistentVolumeName: pv } } },
          signal,
        )
        .catch((err: unknown) => {
          if (!(err instanceof AlreadyExistsError)) throw err;
        });
    }
    const inUse = new Set(node?.status?.volumesInUse ?? []);
    const now = Date.now();
    for (const name of this.#detaching) {
      const cached = this.#attachments.get(name);
      if (cached === undefined || cached.metadata?.deletionTimestamp !== undefined) this.#detaching.delete(name);
    }
    for (const va of this.#attachments.list()) {
      const name = va.metadata?.name ?? "";
      if (va.spec.attacher !== driverName || va.spec.nodeName !== nodeName || desired.has(name) || va.metadata?.deletionTimestamp !== undefined) continue;
      if (this.#detaching.has(name)) continue;
      const handle = this.#volumes.get(va.spec.source.persistentVolumeName ?? "")?.spec?.csi?.volumeHandle;
      const mounted = handle !== undefined && inUse.has(`kubernetes.io/csi/${driverName}^${handle}`);
      if (mounted && !outOfService) {
        // Still mounted: wait for the kubelet, unless the node is unhealthy and the wait is over.
        const since = this.#undesiredSince.get(name) ?? now;
        this.#undesiredSince.set(name, since);
        if (ready || now - since < (this.#options.maxWaitForUnmountMs ?? 6 * 60_000)) continue;
      }
      this.#undesiredSince.delete(name);
      this.#detaching.add(name);
      await client
        .delete(`delete VolumeAttachment ${name}`, `/apis/storage.k8s.io/v1/volumeattachments/${name}`, signal, { preconditions: { uid: va.metadata?.uid } })
        .catch((err: unknown) => {
          if (!(err instanceof NotFoundError)) throw err;
        });
    }
  }
}
