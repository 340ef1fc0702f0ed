import type { OperationLocks } from "@rds-csi/core";
import type { KeptControllers } from "./kept-controllers.js";
import type { Formatter } from "./mount/format.js";
import type { Mounter } from "./mount/mounter.js";
import type { StaleMountCounters } from "./node-metrics.js";
import type { FilesystemProbe } from "./mount/probe-filesystem.js";
import type { DeviceResolver } from "./nvme/device-identity.js";
import type { HostIdentity } from "./nvme/host-identity.js";
import type { NvmeInitiator } from "./nvme/nvme-initiator.js";
import type { Sysfs } from "./nvme/sysfs.js";
import type { VolumeAttachmentCheck } from "./volume-attachment-check.js";
import type { StageRecorder } from "./stage-metrics.js";

/** NQN prefix of the subsystems the RDS exports for this driver. */
export const DEFAULT_MANAGED_NQN_PREFIX = "nqn.2000-02.com.mikrotik:";

/**
 * Volumes staged on this node, by volume id → NQN: the "other staged volumes" input of
 * decideDisconnect and NodeStage's one-NQN-one-volume check. In memory; main.ts seeds it at start
 * with the volumes start-up reconciliation found claimed by staging metadata.
 */
export class StagedVolumes {
  readonly #byVolume = new Map<string, string>();
  add(volumeId: string, nqn: string): void {
    this.#byVolume.set(volumeId, nqn);
  }
  delete(volumeId: string): void {
    this.#byVolume.delete(volumeId);
  }
  list(): { volumeId: string; nqn: string }[] {
    return [...this.#byVolume].map(([volumeId, nqn]) => ({ volumeId, nqn }));
  }
}

/** Everything the node RPCs act through; main.ts builds the real ones, tests may swap any. */
export interface NodeContext {
  readonly nodeId: string;
  /**
   * The kubelet's root directory, canonical (symlinks resolved): every staging and target path must
   * resolve inside it, and staging metadata is searched under its plugins/kubernetes.io/csi.
   */
  readonly kubeletDir: string;
  /** 0 = no limit advertised */
  readonly maxVolumesPerNode: number;
  readonly topology: Readonly<Record<string, string>> | undefined;
  readonly host: HostIdentity;
  readonly initiator: NvmeInitiator;
  readonly resolver: DeviceResolver;
  readonly sysfs: Sysfs;
  readonly mounter: Mounter;
  readonly probe: FilesystemProbe;
  readonly formatter: Formatter;
  readonly managedNqnPrefix: string;
  readonly locks: OperationLocks;
  readonly staged: StagedVolumes;
  /** Controllers disconnectIfUnused left connected; the stale-mount watcher disconnects them once unused. */
  readonly keptControllers: KeptControllers;
  /** Bound on waiting for the namespace after a connect. */
  readonly namespaceTimeoutMs: number;
  /** Times NodeStage's steps and counts its formats (the only metrics seam of the stage RPC). */
  readonly stageRecorder: StageRecorder;
  /**
   * Asked before a lost controller is reconnected: a node that was fenced and came back must not
   * reconnect a volume that moved to another node. Absent without API access (then the plugin
   * reconnects as before: nothing to ask).
   */
  readonly attachments?: VolumeAttachmentCheck;
  /** Where stale-mount recoveries are counted; none in tests that do not look. */
  readonly staleMounts?: StaleMountCounters;
}
