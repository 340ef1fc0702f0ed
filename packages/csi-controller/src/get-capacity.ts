import { parseStorageClassParameters, SIZE_GRANULARITY, csi, type CallContext } from "@rds-csi/core";
import { capabilityProblem } from "./access-modes.js";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { withinTopology } from "./topology.js";
import { requireCapability } from "./capabilities.js";

/**
 * GetCapacity: the pool's free bytes. CSI asks for the capacity usable for volumes with the given
 * capabilities, parameters and topology: for capabilities this driver cannot serve, or a topology its
 * volumes are not accessible from, that is none. Parameters are checked as CreateVolume checks them.
 */
export async function getCapacity(
  deps: ControllerDependencies,
  request: csi.GetCapacityRequest,
  context: CallContext,
): Promise<csi.GetCapacityResponse> {
  requireCapability(deps.capabilities, csi.ControllerServiceCapability_RPC_Type.GET_CAPACITY, "GetCapacity");
  parseStorageClassParameters(request.parameters, deps.parameterDefaults);
  const limits = { minimumVolumeSize: deps.sizeLimits.minBytes };
  const servable =
    request.volumeCapabilities.every((capability, i) => capabilityProblem(capability, `volume_capabilities[${i}]`) === undefined) &&
    withinTopology(deps.topology, request.accessibleTopology);
  if (!servable) return { availableCapacity: 0n, maximumVolumeSize: 0n, ...limits };
  const { freeBytes } = await deps.rds.capacity(context.signal);
  // The largest volume that fits now: whole MiB, and never above the configured maximum.
  const fits = freeBytes - (freeBytes % SIZE_GRANULARITY);
  return {
    availableCapacity: freeBytes,
    maximumVolumeSize: fits < deps.sizeLimits.maxBytes ? fits : deps.sizeLimits.maxBytes,
    ...limits,
  };
}
