import type { CallContext, csi, HealthCheck, Logger, MetricsRegistry } from "@rds-csi/core";
import type { RdsClient, RdsVolume } from "@rds-csi/core/routeros";

/**
 * Who may have a volume, decided at ControllerPublish/Unpublish. The handlers validate the request and
 * check that the volume exists on the RDS; everything about nodes and attachments (is the node one of
 * this driver's, is the volume held elsewhere, host access on the export, publish_context) belongs to
 * the arbiter, which decides from VolumeAttachments rather than from state of its own.
 */
export interface PublishArbiter {
  /**
   * Grants the volume to `request.nodeId` or refuses: NotFoundError for an unknown node,
   * FailedPreconditionError when the volume is held by another node its access mode excludes.
   * Repeating a granted publish grants it again.
   */
  publish(request: csi.ControllerPublishVolumeRequest, volume: RdsVolume, context: CallContext): Promise<csi.ControllerPublishVolumeResponse>;
  /** Releases the volume from `request.nodeId` (every node when empty); a node or volume that is gone counts as released. */
  unpublish(request: csi.ControllerUnpublishVolumeRequest, context: CallContext): Promise<void>;
  /** The nodes the volume is published to now, for ListVolumes, ControllerGetVolume and DeleteVolume. */
  publishedNodes(volumeId: string): Promise<string[]>;
}

/** What main.ts hands the arbiter's factory (`createPublishArbiter` in `publish/index.ts`). */
export interface PublishArbiterOptions {
  readonly rds: RdsClient;
  readonly driverName: string;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}

/** The arbiter as main.ts runs it: ready once its watches have synced, closed after the CSI server stopped. */
export interface ManagedPublishArbiter extends PublishArbiter {
  readonly ready: HealthCheck;
  close(): Promise<void>;
}
