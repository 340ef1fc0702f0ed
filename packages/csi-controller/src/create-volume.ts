import {
  AlreadyExistsError,
  checkMountOptions,
  csi,
  DEFAULT_FS_TYPE,
  FS_TYPE_PARAMETER,
  InvalidArgumentError,
  NotFoundError,
  parseStorageClassParameters,
  printableExcerpt,
  ResourceExhaustedError,
  sizeFitsRange,
  volumeContext,
  volumeIdFromName,
  volumeSize,
  type CallContext,
  type FsType,
  type MountOptionsPolicy,
} from "@rds-csi/core";
import { NO_HOST_NQN, type RdsVolume } from "@rds-csi/core/routeros";
import { checkCapabilities, type CheckedCapability } from "./access-modes.js";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { toCsiVolume } from "./csi-volume.js";
import { MIGRATION_WINDOW_KEY, parseMigrationWindow } from "./publish/index.js";
import { foreignId, ownSnapshotId, ownVolumeId, requireField } from "./request-fields.js";
import { accessibleTopology, satisfiesRequirement } from "./topology.js";
import { requireCapability } from "./capabilities.js";

const Rpc = csi.ControllerServiceCapability_RPC_Type;

/** `id` is undefined for a well-formed id this driver cannot have issued; `given` is the id as requested. */
type CopySource = { readonly kind: "snapshot" | "volume"; readonly id: string | undefined; readonly given: string };

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
  requireCapability(deps.capabilities, csi.ControllerServiceCapability_RPC_Type.CREATE_DELETE_VOLUME, "CreateVolume");
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
  checkMountFlags(capabilities, fsType, parameters.mountOptionsPolicy);
  if (Object.keys(request.mutableParameters).length > 0) {
    throw new InvalidArgumentError("mutable_parameters are not supported: this driver has no modifiable volume attributes");
  }
  const source = copySourceOf(request.volumeContentSource, deps.capabilities);
  // Range errors are the caller's to fix; report them before anything is looked up. A copy's size is
  // settled under the source's lock, once the source's own size is known.
  const size = volumeSize(request.capacityRange, deps.sizeLimits);
  if (!satisfiesRequirement(deps.topology, request.accessibilityRequirements)) {
    throw new ResourceExhaustedError(
      `accessibility_requirements: volumes of this RDS are accessible only from ${deps.topology?.key}=${deps.topology?.value}, which no requisite topology allows`,
    );
  }
  // CSI CreateVolume errors: "Source does not exist | 5 NOT_FOUND | Indicates that the specified source does not exist."
  const sourceId = source?.id;
  if (source && sourceId === undefined) throw new NotFoundError(`volume_content_source: ${source.kind} ${foreignId(source.given)} does not exist`);
  const id = volumeIdFromName(name);
  const migrationWindow = request.parameters[MIGRATION_WINDOW_KEY];
  // With host access control the export admits no host until ControllerPublishVolume names the node's:
  // RouterOS reads an empty allow-list as any host, so the add itself names the placeholder.
  const exportSpec = { port: parameters.nvmePort, ...(deps.hostAccessControl ? { allowedHosts: [NO_HOST_NQN] } : {}) };
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
          `volume ${id} (name "${printableExcerpt(name)}") already exists with ${existing.sizeBytes} bytes, outside the requested range (required ${range?.requiredBytes ?? 0n}, limit ${range?.limitBytes ?? 0n})`,
        );
      }
      if (existing.port !== parameters.nvmePort) {
        throw new AlreadyExistsError(`volume ${id} (name "${printableExcerpt(name)}") already exists on NVMe/TCP port ${existing.port}, not ${parameters.nvmePort}`);
      }
      return respond(existing);
    }
    if (!source || sourceId === undefined) {
      // Looked up just above, under the volume's lock: the client need not look again.
      const volume = await deps.freeSpace.take(size, `volume ${id}`, signal, () =>
        deps.rds.createVolume({ id, sizeBytes: size, ...exportSpec }, signal, { knownAbsent: true }),
      );
      context.logger.info("volume created", { volume_id: id, size_bytes: String(volume.sizeBytes) });
      deps.gauges.changed(volume.id, true);
      return respond(volume);
    }
    // The source is locked too, so it cannot be deleted or grown while it is being copied.
    const sourceLocks = source.kind === "snapshot" ? deps.snapshotLocks : deps.volumeLocks;
    return sourceLocks.run(sourceId, signal, async () => {
      const sourceBytes = await sizeOfSource(deps, source.kind, sourceId, signal);
      const copySize = volumeSize(request.capacityRange, deps.sizeLimits, { source: { id: sourceId, bytes: sourceBytes } });
      const volume = await deps.freeSpace.take(copySize, `volume ${id}`, signal, () =>
        deps.rds.copyVolume({ id, sizeBytes: copySize, ...exportSpec, sourceId }, signal),
      );
      context.logger.info("volume created from a copy", { volume_id: id, source: sourceId, size_bytes: String(volume.sizeBytes) });
      deps.gauges.changed(volume.id, true);
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

/**
 * Mount flags are known here for mount capabilities: refused now (policy and the filesystem's accepted
 * options, the node's own check in core) rather than after the node connected and formatted the volume.
 */
function checkMountFlags(capabilities: readonly CheckedCapability[], fsType: FsType | undefined, policy: MountOptionsPolicy): void {
  capabilities.forEach((capability, i) => {
    if (capability.accessType !== "mount" || fsType === undefined) return;
    checkMountOptions({ fsType, flags: capability.mountFlags, policy, field: `volume_capabilities[${i}].mount.mount_flags` });
  });
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
    const given = source.snapshot.snapshotId;
    return { kind: "snapshot", id: ownSnapshotId(given, "volume_content_source.snapshot.snapshot_id"), given };
  }
  if (source.volume) {
    if (!served.has(Rpc.CLONE_VOLUME)) {
      throw new InvalidArgumentError(`volume_content_source.volume: cloning volumes is not offered: ${unverified}`);
    }
    const given = source.volume.volumeId;
    return { kind: "volume", id: ownVolumeId(given, "volume_content_source.volume.volume_id"), given };
  }
  throw new InvalidArgumentError("volume_content_source must name a snapshot or a volume");
}

async function sizeOfSource(deps: ControllerDependencies, kind: CopySource["kind"], id: string, signal: AbortSignal): Promise<bigint> {
  const found = kind === "snapshot" ? await deps.rds.getSnapshot(id, signal) : await deps.rds.getVolume(id, signal);
  if (!found) throw new NotFoundError(`volume_content_source: ${kind} ${id} does not exist`);
  return found.sizeBytes;
}
