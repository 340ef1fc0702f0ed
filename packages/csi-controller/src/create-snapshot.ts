import {
  AlreadyExistsError,
  csi,
  InvalidArgumentError,
  NotFoundError,
  printableExcerpt,
  snapshotIdFromName,
  unknownParameterKeys,
  type CallContext,
} from "@rds-csi/core";
import { requireCapability } from "./capabilities.js";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { toCsiSnapshot } from "./csi-snapshot.js";
import { foreignId, ownVolumeId, requireField } from "./request-fields.js";

/**
 * CreateSnapshot: an unexported copy of the volume, its source recorded on the RDS. The id is derived
 * from the name, so a retry answers with the snapshot the first attempt made; the same name for another
 * source is ALREADY_EXISTS. The copy is complete when the RDS lists it, so it is ready at once.
 */
export async function createSnapshot(
  deps: ControllerDependencies,
  request: csi.CreateSnapshotRequest,
  context: CallContext,
): Promise<csi.CreateSnapshotResponse> {
  requireCapability(deps.capabilities, csi.ControllerServiceCapability_RPC_Type.CREATE_DELETE_SNAPSHOT, "CreateSnapshot");
  const name = requireField(request.name, "name");
  const sourceId = ownVolumeId(request.sourceVolumeId, "source_volume_id");
  const unknown = unknownParameterKeys(request.parameters, []);
  if (unknown.length > 0) {
    throw new InvalidArgumentError(`invalid VolumeSnapshotClass parameters: unknown parameter(s) ${unknown.join(", ")}; this driver takes none`);
  }
  // Like a source volume of ours that is gone (below): the source does not exist.
  if (sourceId === undefined) throw new NotFoundError(`source_volume_id: volume ${foreignId(request.sourceVolumeId)} does not exist`);
  const id = snapshotIdFromName(name);

  return deps.snapshotLocks.run(id, context.signal, (signal) =>
    deps.volumeLocks.run(sourceId, signal, async () => {
      const existing = await deps.rds.getSnapshot(id, signal);
      if (existing) {
        if (existing.sourceVolumeId !== sourceId) {
          throw new AlreadyExistsError(
            `snapshot ${id} (name "${printableExcerpt(name)}") already exists with source ${existing.sourceVolumeId ?? "unknown"}, not ${sourceId}`,
          );
        }
        return { snapshot: toCsiSnapshot(existing) };
      }
      const source = await deps.rds.getVolume(sourceId, signal);
      if (!source) throw new NotFoundError(`source_volume_id: volume ${sourceId} does not exist`);
      const snapshot = await deps.freeSpace.take(source.sizeBytes, `snapshot ${id} of ${sourceId}`, signal, () =>
        deps.rds.createSnapshot({ id, sourceVolumeId: sourceId }, signal),
      );
      context.logger.info("snapshot created", { volume_id: sourceId, snapshot_id: id, size_bytes: String(snapshot.sizeBytes) });
      return { snapshot: toCsiSnapshot(snapshot) };
    }),
  );
}
