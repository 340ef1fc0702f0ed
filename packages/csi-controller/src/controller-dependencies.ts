import type { csi, OperationLocks, ParameterDefaults, VolumeSizeLimits } from "@rds-csi/core";
import type { RdsClient } from "@rds-csi/core/routeros";
import type { FreeSpace } from "./free-space.js";
import type { PublishArbiter } from "./publish-arbiter.js";
import type { TopologySegment } from "./topology.js";
import type { VolumeEvents } from "./volume-events.js";
import type { VolumeGauges } from "./volume-gauges.js";

/** What every controller RPC works with; built once by ControllerService. */
export interface ControllerDependencies {
  readonly rds: RdsClient;
  readonly arbiter: PublishArbiter;
  /** Advertised and enforced: see capabilities.ts. */
  readonly capabilities: ReadonlySet<csi.ControllerServiceCapability_RPC_Type>;
  readonly sizeLimits: VolumeSizeLimits;
  readonly parameterDefaults: ParameterDefaults;
  readonly topology: TopologySegment | undefined;
  /** One operation per volume id at a time; a second caller gets ABORTED at once. */
  readonly volumeLocks: OperationLocks;
  readonly snapshotLocks: OperationLocks;
  /** Events on the volume's claim; fire-and-forget, so they never fail or delay an RPC. */
  readonly events: VolumeEvents;
  /** Told after each create, delete and expand, so the gauges do not wait for their next timed read. */
  readonly gauges: VolumeGauges;
  /** CreateVolume's free-space check, from a recent reading of the pool (see free-space.ts). */
  readonly freeSpace: FreeSpace;
  /** Host access control is verified: a new export admits no host until a publish names one. */
  readonly hostAccessControl: boolean;
}
