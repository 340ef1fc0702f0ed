import {
  checkSizeLimits,
  OperationLocks,
  type CallContext,
  type csi,
  type ParameterDefaults,
  type UnaryImplementation,
  type VolumeSizeLimits,
} from "@rds-csi/core";
import { type RdsClient } from "@rds-csi/core/routeros";
import { controllerCapabilities } from "./capabilities.js";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { controllerExpandVolume } from "./controller-expand-volume.js";
import { controllerGetCapabilities } from "./controller-get-capabilities.js";
import { controllerGetVolume } from "./controller-get-volume.js";
import { controllerModifyVolume } from "./controller-modify-volume.js";
import { controllerPublishVolume } from "./controller-publish-volume.js";
import { controllerUnpublishVolume } from "./controller-unpublish-volume.js";
import { createSnapshot } from "./create-snapshot.js";
import { createVolume } from "./create-volume.js";
import { deleteSnapshot } from "./delete-snapshot.js";
import { deleteVolume } from "./delete-volume.js";
import { FreeSpace } from "./free-space.js";
import { getCapacity } from "./get-capacity.js";
import { listSnapshots } from "./list-snapshots.js";
import { listVolumes } from "./list-volumes.js";
import type { PublishArbiter } from "./publish-arbiter.js";
import type { TopologySegment } from "./topology.js";
import { validateVolumeCapabilities } from "./validate-volume-capabilities.js";
import type { VolumeEvents } from "./volume-events.js";
import type { VolumeGauges } from "./volume-gauges.js";

export interface ControllerServiceOptions {
  readonly rds: RdsClient;
  readonly arbiter: PublishArbiter;
  readonly sizeLimits: VolumeSizeLimits;
  readonly parameterDefaults: ParameterDefaults;
  readonly topology?: TopologySegment;
  readonly events: VolumeEvents;
  readonly gauges: VolumeGauges;
  /** `--host-access-control-trust=verified`: new exports are created admitting no host (see create-volume.ts). */
  readonly hostAccessControl: boolean;
}

/**
 * CSI Controller: one file per RPC, wired here. Capabilities follow the RDS client's copy strategy, so
 * what is advertised is what the RDS side was configured to do. The service keeps no state a second
 * replica could contradict: only the operation locks, which guard calls in flight, and a reading of the
 * pool's free space that stands for a second at most (see free-space.ts).
 */
export class ControllerService implements UnaryImplementation<csi.ControllerService> {
  readonly #deps: ControllerDependencies;

  constructor(options: ControllerServiceOptions) {
    this.#deps = {
      rds: options.rds,
      arbiter: options.arbiter,
      capabilities: controllerCapabilities({ copyTrust: options.rds.copyStrategy.trust, topology: options.topology !== undefined }),
      sizeLimits: checkSizeLimits(options.sizeLimits),
      parameterDefaults: options.parameterDefaults,
      topology: options.topology,
      volumeLocks: new OperationLocks({ label: "volume" }),
      snapshotLocks: new OperationLocks({ label: "snapshot" }),
      events: options.events,
      gauges: options.gauges,
      freeSpace: new FreeSpace(options.rds),
      hostAccessControl: options.hostAccessControl,
    };
  }

  createVolume(request: csi.CreateVolumeRequest, context: CallContext): Promise<csi.CreateVolumeResponse> {
    return createVolume(this.#deps, request, context);
  }

  deleteVolume(request: csi.DeleteVolumeRequest, context: CallContext): Promise<csi.DeleteVolumeResponse> {
    return deleteVolume(this.#deps, request, context);
  }

  controllerPublishVolume(request: csi.ControllerPublishVolumeRequest, context: CallContext): Promise<csi.ControllerPublishVolumeResponse> {
    return controllerPublishVolume(this.#deps, request, context);
  }

  controllerUnpublishVolume(
    request: csi.ControllerUnpublishVolumeRequest,
    context: CallContext,
  ): Promise<csi.ControllerUnpublishVolumeResponse> {
    return controllerUnpublishVolume(this.#deps, request, context);
  }

  validateVolumeCapabilities(
    request: csi.ValidateVolumeCapabilitiesRequest,
    context: CallContext,
  ): Promise<csi.ValidateVolumeCapabilitiesResponse> {
    return validateVolumeCapabilities(this.#deps, request, context);
  }

  listVolumes(request: csi.ListVolumesRequest, context: CallContext): Promise<csi.ListVolumesResponse> {
    return listVolumes(this.#deps, request, context);
  }

  getCapacity(request: csi.GetCapacityRequest, context: CallContext): Promise<csi.GetCapacityResponse> {
    return getCapacity(this.#deps, request, context);
  }

  controllerGetCapabilities(): Promise<csi.ControllerGetCapabilitiesResponse> {
    return controllerGetCapabilities(this.#deps);
  }

  createSnapshot(request: csi.CreateSnapshotRequest, context: CallContext): Promise<csi.CreateSnapshotResponse> {
    return createSnapshot(this.#deps, request, context);
  }

  deleteSnapshot(request: csi.DeleteSnapshotRequest, context: CallContext): Promise<csi.DeleteSnapshotResponse> {
    return deleteSnapshot(this.#deps, request, context);
  }

  listSnapshots(request: csi.ListSnapshotsRequest, context: CallContext): Promise<csi.ListSnapshotsResponse> {
    return listSnapshots(this.#deps, request, context);
  }

  controllerExpandVolume(request: csi.ControllerExpandVolumeRequest, context: CallContext): Promise<csi.ControllerExpandVolumeResponse> {
    return controllerExpandVolume(this.#deps, request, context);
  }

  controllerGetVolume(request: csi.ControllerGetVolumeRequest, context: CallContext): Promise<csi.ControllerGetVolumeResponse> {
    return controllerGetVolume(this.#deps, request, context);
  }

  controllerModifyVolume(): Promise<csi.ControllerModifyVolumeResponse> {
    return controllerModifyVolume();
  }
}
