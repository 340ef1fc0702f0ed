import {
  AlreadyExistsError,
  csi,
  DEFAULT_FS_TYPE,
  FS_TYPE_PARAMETER,
  InvalidArgumentError,
  NotFoundError,
  parseStorageClassParameters,
  ResourceExhaustedError,
  sizeFitsRange,
  volumeContext,
  volumeIdFromName,
  volumeSize,
  type CallContext,
  type FsType,
  type MountOptionsPolicy,
} from "@rds-csi/core";
import { type RdsVolume } from "@rds-csi/core/routeros";
import { checkCapabilities, type CheckedCapability } from "./access-modes.js";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { toCsiVolume } from "./csi-volume.js";
import { MIGRATION_WINDOW_KEY, parseMigrationWindow } from "./publish/index.js";
import { requireField, requireSnapshotId, requireVolumeId } from "./request-fields.js";
import { accessibleTopology, satisfiesRequirement } from "./topology.js";

const Rpc = csi.ControllerServiceCapability_RPC_Type;

type CopySource = { readonly kind: "snapshot"; readonly id: string } | { readonly kind: "volume"; readonly id: string };

/**
 * CreateVolume: a file-backed disk exported over NVMe/TCP, empty or copied from a snapshot or a volume.
 * The id is derived from the name, so a retry (or a second replica) finds what the first attempt made
 * and answers with it, to the byte; a volume by that name that does not fit the request is ALREADY_EXISTS.
 */
export async function createVolume(
  deps: ControllerDependencies,
  request: csi.CreateVolumeRequest,
  context: CallContext,
): Promise<csi.CreateVolumeResponse> {
  try {
    return await provision(deps, request, context);
  } catch (err) {
    // Here, around the whole handler, so that no way out of it can forget the event.
    deps.events.provisioningFailed(request, err);
    throw err;
  }
}

async function provision(deps: ControllerDependencies, request: csi.CreateVolumeRequest, context: CallContext): Promise<csi.CreateVolumeResponse> {
  const name = requireField(request.name, "name");
  const capabilities = checkCapabilities(request.volumeCapabilities, "volume_capabilities");
  const parameters = parseStorageClassParameters(request.parameters, deps.parameterDefaults);
  parseMigrationWindow(request.parameters);
  const fsType = filesystemOf(capabilities, parameters.fsType);
  checkMountOptions(capabilities, parameters.mountOptionsPolicy);
  if (Object.keys(request.mutableParameters).length > 0) {
    throw new InvalidArgumentError("mutable_parameters are not supported: this driver has no modifiable volume attributes");
  }
  const source = copySourceOf(request.volumeContentSource, deps.capabilities);
  // Range errors are the caller's to fix; report them before anything is looked up.
  volumeSize(request.capacityRange, deps.sizeLimits);
  if (!satisfiesRequirement(deps.topology, request.accessibilityRequirements)) {
    throw new ResourceExhaustedError(
      `accessibility_requirements: volumes of this RDS are accessible only from ${deps.topology?.key}=${deps.topology?.value}, which no requisite topology allows`,
    );
  }
  const id = volumeIdFromName(name);
  const migrationWindow = request.parameters[MIGRATION_WINDOW_KEY];
  const respond = (volume: RdsVolume): csi.CreateVolumeResponse => ({
    volume: toCsiVolume(volume, {
      topology: accessibleTopology(deps.topology),
      context: { ...volumeContext(volume, parameters, fsType), ...(migrationWindow ? { [MIGRATION_WINDOW_KEY]: migrationWindow } : {}) },
      ...(request.volumeContentSource ? { contentSource: request.volumeContentSource } : {}),
    }),
  });

  return deps.volumeLocks.run(id, context.signal, async (signal) => {
    const existing = await deps.rds.getVolume(id, signal);
    // A copy the RDS is still making (or made at the wrong size) is finished by copyVolume below, never served.
    if (existing?.copyInProgress && !source) {
      throw new AlreadyExistsError(`volume ${id} (name "${name}") exists as a copy still in progress; the request names no source`);
    }
    if (existing && !existing.copyInProgress) {
      if (!sizeFitsRange(existing.sizeBytes, request.capacityRange)) {
        const range = request.capacityRange;
        throw new AlreadyExistsError(
          `volume ${id} (name "${name}") already exists with ${existing.sizeBytes} bytes, outside the requested range (required ${range?.requiredBytes ?? 0n}, limit ${range?.limitBytes ?? 0n})`,
        );
      }
      if (existing.port !== parameters.nvmePort) {
        throw new AlreadyExistsError(`volume ${id} (name "${name}") already exists on NVMe/TCP port ${existing.port}, not ${parameters.nvmePort}`);
      }
      return respond(existing);
    }
    if (!source) {
      const size = volumeSize(request.capacityRange, deps.sizeLimits);
      // Looked up just above, under the volume's lock: the client need not look again.
      const volume = await deps.freeSpace.take(size, `volume ${id}`, signal, () =>
        deps.rds.createVolume({ id, sizeBytes: size, port: parameters.nvmePort }, signal, { knownAbsent: true }),
      );
      context.logger.info("volume created", { volume_id: id, size_bytes: String(volume.sizeBytes) });
      deps.gauges.changed();
      return respond(volume);
    }
    // The source is locked too, so it cannot be deleted or grown while it is being copied.
    const sourceLocks = source.kind === "snapshot" ? deps.snapshotLocks : deps.volumeLocks;
    return sourceLocks.run(source.id, signal, async () => {
      const sourceBytes = await sizeOfSource(deps, source, signal);
      const size = volumeSize(request.capacityRange, deps.sizeLimits, { source: { id: source.id, bytes: sourceBytes } });
      const volume = await deps.freeSpace.take(size, `volume ${id}`, signal, () =>
        deps.rds.copyVolume({ id, sizeBytes: size, port: parameters.nvmePort, sourceId: source.id }, signal),
      );
      context.logger.info("volume created from a copy", { volume_id: id, source: source.id, size_bytes: String(volume.sizeBytes) });
      deps.gauges.changed();
      return respond(volume);
    });
  });
}

/** The filesystem of a volume requested with a mount capability; undefined for raw block only. */
function filesystemOf(capabilities: readonly CheckedCapability[], fromParameters: FsType | undefined): FsType | undefined {
  const mounts = capabilities.filter((capability) => capability.accessType === "mount");
  if (mounts.length === 0) return undefined;
  const named = [...new Set(mounts.flatMap((capability) => (capability.fsType ? [capability.fsType] : [])))];
  if (named.length > 1) throw new InvalidArgumentError(`volume_capabilities ask for different filesystems: ${named.join(", ")}`);
  const fromCapability = named[0];
  if (fromCapability !== undefined && fromParameters !== undefined && fromCapability !== fromParameters) {
    throw new InvalidArgumentError(
      `volume_capabilities mount.fs_type ${fromCapability} contradicts parameters.${FS_TYPE_PARAMETER} ${fromParameters}`,
    );
  }
  return fromCapability ?? fromParameters ?? DEFAULT_FS_TYPE;
}

function checkMountOptions(capabilities: readonly CheckedCapability[], policy: MountOptionsPolicy): void {
  if (policy === "allow") return;
  const index = capabilities.findIndex((capability) => capability.mountFlags.length > 0);
  if (index >= 0) {
    throw new InvalidArgumentError(
      `volume_capabilities[${index}].mount.mount_flags: mount options are forbidden for this StorageClass (mountOptionsPolicy=forbid)`,
    );
  }
}

/**
 * The copy source, if any. CSI's answer for a source kind the plugin does not offer is INVALID_ARGUMENT:
 * copies are offered only with a verified copy strategy (see capabilities.ts).
 */
function copySourceOf(
  source: csi.VolumeContentSource | undefined,
  served: ReadonlySet<csi.ControllerServiceCapability_RPC_Type>,
): CopySource | undefined {
  if (source === undefined) return undefined;
  const unverified = "the copy strategy is not verified on this RDS";
  if (source.snapshot) {
    if (!served.has(Rpc.CREATE_DELETE_SNAPSHOT)) {
      throw new InvalidArgumentError(`volume_content_source.snapshot: restoring snapshots is not offered: ${unverified}`);
    }
    return { kind: "snapshot", id: requireSnapshotId(source.snapshot.snapshotId, "volume_content_source.snapshot.snapshot_id") };
  }
  if (source.volume) {
    if (!served.has(Rpc.CLONE_VOLUME)) {
      throw new InvalidArgumentError(`volume_content_source.volume: cloning volumes is not offered: ${unverified}`);
    }
    return { kind: "volume", id: requireVolumeId(source.volume.volumeId, "volume_content_source.volume.volume_id") };
  }
  throw new InvalidArgumentError("volume_content_source must name a snapshot or a volume");
}

async function sizeOfSource(deps: ControllerDependencies, source: CopySource, signal: AbortSignal): Promise<bigint> {
  const found = source.kind === "snapshot" ? await deps.rds.getSnapshot(source.id, signal) : await deps.rds.getVolume(source.id, signal);
  if (!found) throw new NotFoundError(`volume_content_source: ${source.kind} ${source.id} does not exist`);
  return found.sizeBytes;
}
