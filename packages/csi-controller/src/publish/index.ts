import {
  KubeEventRecorder,
  RelistingInformer,
  type EventRecorder,
  type InformerTuningOverrides,
  type KubeClient,
  type PersistentVolume,
  type VolumeAttachment,
} from "@rds-csi/core/k8s";
import type { ManagedPublishArbiter, PublishArbiterOptions } from "../publish-arbiter.js";
import { MigrationMonitor } from "./migration-monitor.js";
import { KubeNodeDirectory, type NodeDirectory } from "./node-directory.js";
import { PublishMetrics } from "./publish-metrics.js";
import { VolumeAttachmentArbiter } from "./volume-attachment-arbiter.js";
import { VolumeAttachmentView } from "./volume-attachment-view.js";

// CreateVolume validates the StorageClass's migration window with the same parser the monitor reads it with.
export { DEFAULT_MIGRATION_WINDOW_MS, MIGRATION_WINDOW_KEY, parseMigrationWindow } from "./migration-window.js";
export { NO_HOST_NQN } from "@rds-csi/core/routeros";

export interface VolumeAttachmentArbiterSettings extends PublishArbiterOptions {
  readonly client: KubeClient;
  /** Set only when the RDS self-check verified `nvme-tcp-server-allow-host-name`; see VolumeAttachmentArbiterOptions. */
  readonly hostAccessControl: boolean;
  readonly nvmeAddress: (volumeContext: Readonly<Record<string, string>>) => string;
  /** Defaults to events posted as `rds-csi-controller`. */
  readonly events?: EventRecorder;
  /** Defaults to reading CSINode and Node objects from the API server. */
  readonly nodes?: NodeDirectory;
  readonly informerTuning?: InformerTuningOverrides;
  /** How often overdue migrations are looked for; default 30 s. */
  readonly migrationCheckIntervalMs?: number;
}

/**
 * The arbiter as main.ts runs it: VolumeAttachment and PersistentVolume informers (started here, synced
 * before any decision), the migration monitor, metrics, and `close` for shutdown. Ready once both
 * informers listed and keep listing.
 */
export function createPublishArbiter(settings: VolumeAttachmentArbiterSettings): ManagedPublishArbiter {
  const { client, logger } = settings;
  const attachments = RelistingInformer.overApi<VolumeAttachment>(client, {
    resource: "volumeattachments",
    path: "/apis/storage.k8s.io/v1/volumeattachments",
    logger,
    tuning: settings.informerTuning,
  });
  const volumes = RelistingInformer.overApi<PersistentVolume>(client, {
    resource: "persistentvolumes",
    path: "/api/v1/persistentvolumes",
    logger,
    tuning: settings.informerTuning,
  });
  const view = new VolumeAttachmentView({ driverName: settings.driverName, attachments, volumes });
  const monitor = new MigrationMonitor({
    volumes: () => view.volumes(),
    events: settings.events ?? new KubeEventRecorder({ client, component: "rds-csi-controller" }),
    onOverdue: () => metrics.migrationOverdue(),
    logger,
    intervalMs: settings.migrationCheckIntervalMs,
  });
  const metrics = new PublishMetrics(settings.metrics, () => monitor.inProgress());
  const arbiter = new VolumeAttachmentArbiter({
    view,
    nodes: settings.nodes ?? new KubeNodeDirectory({ client, driverName: settings.driverName }),
    rds: settings.rds,
    metrics,
    hostAccessControl: settings.hostAccessControl,
    nvmeAddress: settings.nvmeAddress,
  });
  attachments.start();
  volumes.start();
  monitor.start();
  logger.info("publish arbiter started", { host_access_control: settings.hostAccessControl });
  return {
    publish: (request, volume, context) => arbiter.publish(request, volume, context),
    unpublish: (request, context) => arbiter.unpublish(request, context),
    publishedNodes: (volumeId) => arbiter.publishedNodes(volumeId),
    ready: async () => view.check(),
    close: async () => {
      monitor.stop();
      await Promise.all([attachments.stop(), volumes.stop()]);
    },
  };
}
