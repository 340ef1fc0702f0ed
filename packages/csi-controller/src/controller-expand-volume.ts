import { InvalidArgumentError, NotFoundError, OutOfRangeError, volumeSize, csi, type CallContext } from "@rds-csi/core";
import { checkCapability } from "./access-modes.js";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { foreignId, ownVolumeId } from "./request-fields.js";
import { requireCapability } from "./capabilities.js";

/**
 * ControllerExpandVolume: grows the disk file (never shrinks it) and reports the size read back.
 * A filesystem volume always needs the node to grow its filesystem, also when the disk had already
 * grown: a retried expand whose first attempt grew the disk must still reach the node (the earlier
 * driver answered such a retry with false and the filesystem never grew).
 */
export async function controllerExpandVolume(
  deps: ControllerDependencies,
  request: csi.ControllerExpandVolumeRequest,
  context: CallContext,
): Promise<csi.ControllerExpandVolumeResponse> {
  requireCapability(deps.capabilities, csi.ControllerServiceCapability_RPC_Type.EXPAND_VOLUME, "ControllerExpandVolume");
  const id = ownVolumeId(request.volumeId, "volume_id");
  const range = request.capacityRange;
  if (range === undefined || range.requiredBytes === 0n) throw new InvalidArgumentError("capacity_range.required_bytes is required");
  const capability = request.volumeCapability === undefined ? undefined : checkCapability(request.volumeCapability, "volume_capability");
  const target = volumeSize(range, deps.sizeLimits);
  // Without a capability the access type is unknown; asking the node to grow is the safe answer.
  const nodeExpansionRequired = capability?.accessType !== "block";
  // CSI ControllerExpandVolume errors: "Volume does not exist | 5 NOT_FOUND".
  if (id === undefined) throw new NotFoundError(`volume ${foreignId(request.volumeId)} does not exist`);

  return deps.volumeLocks.run(id, context.signal, async (signal) => {
    const volume = await deps.rds.getVolume(id, signal);
    if (!volume) throw new NotFoundError(`volume ${id} does not exist`);
    if (volume.sizeBytes >= target) {
      if (range.limitBytes > 0n && volume.sizeBytes > range.limitBytes) {
        throw new OutOfRangeError(`capacity_range: volume ${id} already has ${volume.sizeBytes} bytes, above limit_bytes ${range.limitBytes}; volumes never shrink`);
      }
      return { capacityBytes: volume.sizeBytes, nodeExpansionRequired };
    }
    const grown = await deps.freeSpace.take(target - volume.sizeBytes, `growing volume ${id} to ${target} bytes`, signal, () =>
      deps.rds.resizeVolume(id, target, signal),
    );
    context.logger.info("volume expanded", { volume_id: id, size_bytes: String(grown.sizeBytes) });
    deps.events.volumeExpanded(id, volume.sizeBytes, grown.sizeBytes);
    deps.gauges.changed(id, true);
    return { capacityBytes: grown.sizeBytes, nodeExpansionRequired };
  });
}
