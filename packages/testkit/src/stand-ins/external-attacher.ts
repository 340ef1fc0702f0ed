import { csi, NotFoundError, type Logger } from "@rds-csi/core";
import {
  jsonPointer,
  keyOf,
  listItemAddition,
  listItemRemoval,
  RelistingInformer,
  runWorkers,
  WorkQueue,
  type CsiNode,
  type KubeClient,
  type PersistentVolume,
  type VolumeAttachment,
} from "@rds-csi/core/k8s";
import { callUnary, connectCsi, type CsiClients } from "../csi-client.js";

const VA_PATH = "/apis/storage.k8s.io/v1/volumeattachments";
const PV_PATH = "/api/v1/persistentvolumes";
/** external-attacher's vaNodeIDAnnotation: the node id it published to, for detaching without a CSINode. */
const NODE_ID_ANNOTATION = "csi.alpha.kubernetes.io/node-id";
const MODE = csi.VolumeCapability_AccessMode_Mode;

/**
 * external-attacher's finalizer for `driver` (pkg/controller/util.go GetFinalizerName and
 * SanitizeDriverName): every character outside [a-zA-Z0-9-] becomes '-', and a trailing '-' gets an 'X'.
 */
export function attacherFinalizer(driver: string): string {
  const sanitized = driver.replace(/[^a-zA-Z0-9-]/gu, "-");
  return `external-attacher/${sanitized.endsWith("-") ? `${sanitized}X` : sanitized}`;
}

export interface ExternalAttacherOptions {
  /** a client sending User-Agent `csi-attacher` (what the fake records for the RBAC test) */
  readonly client: KubeClient;
  /** the controller plugin's CSI endpoint, e.g. `unix:///…/csi.sock` */
  readonly csiEndpoint: string;
  readonly driverName: string;
  readonly logger: Logger;
  /** deadline of each CSI call (external-attacher's --timeout, default 15 s) */
  readonly timeoutMs?: number;
  /** informer relist interval; small in tests */
  readonly relistIntervalMs?: number;
}

/**
 * A stand-in for the external-attacher sidecar, modelled on kubernetes-csi/external-attacher v4.8
 * (pkg/controller/csi_handler.go syncAttach/syncDetach/csiAttach/csiDetach, util.go markAsAttached and
 * markAsDetached), for the VolumeAttachments whose `spec.attacher` is this driver:
 * - attach (no deletionTimestamp, not attached): the PV must exist and not be deleting; the PV gets the
 *   attacher's finalizer; the node id comes from the node's CSINode; the VA gets the finalizer and the
 *   node-id annotation; ControllerPublishVolume (volume handle, node id, capability from the PV's
 *   access modes, fsType or block mode, volume attributes, readonly); then `status.attached: true`
 *   with `attachmentMetadata` = the publish context and `attachError` cleared, through `/status`;
 * - detach (deletionTimestamp set, finalizer present): ControllerUnpublishVolume, then status attached
 *   false (metadata and detachError cleared), then the finalizer removed, in that order;
 * - a failure is saved in `status.attachError` / `status.detachError` ({time, message}) and the VA is
 *   retried with per-item exponential backoff (its workqueue; here core's WorkQueue).
 * Not modelled: ListVolumes reconciliation, CSI migration, secrets, the PV finalizer's removal.
 * Its own finalizer edits are JSON patches with `test` ops rather than external-attacher's merge
 * patches of the whole list, so it never drops a finalizer someone else added.
 */
export class ExternalAttacherStandIn {
  readonly finalizer: string;
  readonly #options: ExternalAttacherOptions;
  readonly #attachments: RelistingInformer<VolumeAttachment>;
  readonly #queue = new WorkQueue({ baseDelayMs: 50, maxDelayMs: 2_000 });
  readonly #stopping = new AbortController();
  #csi: CsiClients | undefined;
  #capabilities: Promise<boolean> | undefined;
  #workers: Promise<void> | undefined;

  constructor(options: ExternalAttacherOptions) {
    this.#options = options;
    this.finalizer = attacherFinalizer(options.driverName);
    this.#attachments = RelistingInformer.overApi<VolumeAttachment>(options.client, {
      resource: "volumeattachments",
      path: VA_PATH,
      logger: options.logger,
      tuning: { relistIntervalMs: options.relistIntervalMs ?? 5_000, backoffInitialMs: 50, backoffMaxMs: 1_000 },
    });
    // No field selector: VolumeAttachment has none (the real sidecar filters in its handler too).
    this.#attachments.onChange((event) => {
      if (event.object.spec.attacher === options.driverName) this.#queue.add(keyOf(event.object));
    });
  }

  start(): void {
    this.#csi = connectCsi(this.#options.csiEndpoint);
    this.#attachments.start();
    this.#workers = runWorkers(this.#queue, { name: "external-attacher", workers: 2, logger: this.#options.logger, handle: (name, signal) => this.#sync(name, signal) }, this.#stopping.signal);
  }

  async stop(): Promise<void> {
    this.#stopping.abort(new Error("external-attacher stand-in stopped"));
    await this.#workers;
    await this.#attachments.stop();
    this.#csi?.close();
  }

  async #sync(name: string, signal: AbortSignal): Promise<void> {
    const { client } = this.#options;
    // Decide from the object as it is now, not from the cached copy that queued the key.
    const va = await client.get<VolumeAttachment>(`read VolumeAttachment ${name}`, `${VA_PATH}/${name}`, signal).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (va === undefined || va.spec.attacher !== this.#options.driverName) return;
    if (va.metadata?.deletionTimestamp === undefined) {
      if (va.status?.attached) return;
      await this.#saving("attachError", va, signal, () => this.#attach(va, signal));
    } else {
      if (!(va.metadata.finalizers ?? []).includes(this.finalizer)) return;
      await this.#saving("detachError", va, signal, () => this.#detach(va, signal));
    }
  }

  /** Runs `step`; its failure goes into the VA's status (saveAttachError/saveDetachError) and is rethrown for the retry. */
  async #saving(field: "attachError" | "detachError", va: VolumeAttachment, signal: AbortSignal, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await this.#options.client
        .mergePatch(`save ${field} of VolumeAttachment ${va.metadata?.name}`, `${VA_PATH}/${va.metadata?.name}/status`, { status: { [field]: { time: rfc3339(new Date()), message } } }, signal)
        .catch((saveErr: unknown) => this.#options.logger.warn("could not save the error to the VolumeAttachment", { error: (saveErr as Error).message }));
      throw err;
    }
  }

  async #attach(va: VolumeAttachment, signal: AbortSignal): Promise<void> {
    const { client } = this.#options;
    const name = va.metadata!.name!;
    const pvName = va.spec.source.persistentVolumeName;
    if (pvName === undefined) throw new Error("neither InlineCSIVolumeSource nor PersistentVolumeName specified in VA source");
    const pv = await client.get<PersistentVolume & { metadata?: { finalizers?: readonly string[] } }>(`read PersistentVolume ${pvName}`, `${PV_PATH}/${pvName}`, signal);
    if (pv.metadata?.deletionTimestamp !== undefined) throw new Error(`PersistentVolume "${pvName}" is marked for deletion`);
    const source = pv.spec?.csi;
    if (source === undefined) throw new Error("pv spec contained non-csi source that was not migrated");
    await this.#ensureFinalizer(`PersistentVolume ${pvName}`, `${PV_PATH}/${pvName}`, pv, signal);
    const nodeId = await this.#nodeId(va.spec.nodeName, signal);
    const withFinalizer = await this.#ensureFinalizer(`VolumeAttachment ${name}`, `${VA_PATH}/${name}`, va, signal);
    if (withFinalizer.metadata?.annotations?.[NODE_ID_ANNOTATION] !== nodeId) {
      await client.mergePatch(`annotate VolumeAttachment ${name}`, `${VA_PATH}/${name}`, { metadata: { annotations: { [NODE_ID_ANNOTATION]: nodeId } } }, signal);
    }
    const { publishContext } = await callUnary(
      this.#csi!.controller,
      this.#csi!.controller.controllerPublishVolume,
      csi.ControllerPublishVolumeRequest.fromPartial({
        volumeId: source.volumeHandle,
        nodeId,
        volumeCapability: capabilityOf(pv, await this.#singleNodeMultiWriter()),
        readonly: (source as { readOnly?: boolean }).readOnly === true,
        volumeContext: { ...source.volumeAttributes },
      }),
      { deadlineMs: this.#options.timeoutMs ?? 15_000 },
    );
    await client.mergePatch(`mark VolumeAttachment ${name} attached`, `${VA_PATH}/${name}/status`, { status: { attached: true, attachmentMetadata: publishContext, attachError: null } }, signal);
  }

  async #detach(va: VolumeAttachment, signal: AbortSignal): Promise<void> {
    const { client } = this.#options;
    const name = va.metadata!.name!;
    const pvName = va.spec.source.persistentVolumeName!;
    const pv = await client.get<PersistentVolume>(`read PersistentVolume ${pvName}`, `${PV_PATH}/${pvName}`, signal);
    const nodeId = va.metadata?.annotations?.[NODE_ID_ANNOTATION] ?? (await this.#nodeId(va.spec.nodeName, signal));
    await callUnary(
      this.#csi!.controller,
      this.#csi!.controller.controllerUnpublishVolume,
      csi.ControllerUnpublishVolumeRequest.fromPartial({ volumeId: pv.spec?.csi?.volumeHandle ?? pvName, nodeId }),
      { deadlineMs: this.#options.timeoutMs ?? 15_000 },
    );
    // Status first, then the finalizer: removing the finalizer lets the object go (markAsDetached).
    const detached = await client.mergePatch<VolumeAttachment>(
      `mark VolumeAttachment ${name} detached`,
      `${VA_PATH}/${name}/status`,
      { status: { attached: false, attachmentMetadata: null, detachError: null } },
      signal,
    );
    const operations = listItemRemoval(jsonPointer("metadata", "finalizers"), detached.metadata?.finalizers, (f) => f === this.finalizer);
    if (operations.length > 0) await client.jsonPatch(`remove finalizer from VolumeAttachment ${name}`, `${VA_PATH}/${name}`, operations, signal);
  }

  async #ensureFinalizer<T extends VolumeAttachment | PersistentVolume>(what: string, path: string, object: T, signal: AbortSignal): Promise<T> {
    const operations = listItemAddition(jsonPointer("metadata", "finalizers"), object.metadata?.finalizers, this.finalizer, object.metadata!.resourceVersion!);
    if (operations.length === 0) return object;
    return this.#options.client.jsonPatch<T>(`add finalizer to ${what}`, path, operations, signal);
  }

  /** Whether the plugin has SINGLE_NODE_MULTI_WRITER, which changes how RWO and RWOP map (asked once, as the sidecar does at start). */
  #singleNodeMultiWriter(): Promise<boolean> {
    this.#capabilities ??= callUnary(this.#csi!.controller, this.#csi!.controller.controllerGetCapabilities, csi.ControllerGetCapabilitiesRequest.fromPartial({})).then(
      ({ capabilities }) => capabilities.some((c) => c.rpc?.type === csi.ControllerServiceCapability_RPC_Type.SINGLE_NODE_MULTI_WRITER),
      (err: unknown) => {
        this.#capabilities = undefined;
        throw err;
      },
    );
    return this.#capabilities;
  }

  /** The node id the driver registered on `nodeName` (its CSINode), as getNodeID reads it. */
  async #nodeId(nodeName: string, signal: AbortSignal): Promise<string> {
    const csiNode = await this.#options.client.get<CsiNode>(`read CSINode ${nodeName}`, `/apis/storage.k8s.io/v1/csinodes/${nodeName}`, signal);
    const entry = csiNode.spec?.drivers?.find((d) => d.name === this.#options.driverName);
    if (entry?.nodeID === undefined) throw new Error(`CSINode ${nodeName} does not contain driver ${this.#options.driverName}`);
    return entry.nodeID;
  }
}

/**
 * GetVolumeCapabilities: block or mount (fsType, default ext4), the access mode as csi-lib-utils
 * accessmodes.ToCSIAccessMode maps the PV's modes (RWO and RWOP depend on SINGLE_NODE_MULTI_WRITER).
 */
function capabilityOf(pv: PersistentVolume, singleNodeMultiWriter: boolean): csi.VolumeCapability {
  const modes = pv.spec?.accessModes ?? [];
  const mode = modes.includes("ReadWriteMany")
    ? MODE.MULTI_NODE_MULTI_WRITER
    : modes.includes("ReadOnlyMany")
      ? MODE.MULTI_NODE_READER_ONLY
      : !singleNodeMultiWriter
        ? MODE.SINGLE_NODE_WRITER
        : modes.includes("ReadWriteOncePod")
          ? MODE.SINGLE_NODE_SINGLE_WRITER
          : MODE.SINGLE_NODE_MULTI_WRITER;
  const fsType = (pv.spec?.csi as { fsType?: string } | undefined)?.fsType || "ext4";
  return pv.spec?.volumeMode === "Block"
    ? csi.VolumeCapability.fromPartial({ block: {}, accessMode: { mode } })
    : csi.VolumeCapability.fromPartial({ mount: { fsType }, accessMode: { mode } });
}

/** metav1.Time: RFC 3339, seconds. */
function rfc3339(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/u, "Z");
}
