import {
  checkMountOptions,
  DEFAULT_FS_TYPE,
  InvalidArgumentError,
  isFsType,
  NotFoundError,
  parseStorageClassParameters,
  parseVolumeContext,
  type CallContext,
  type csi,
} from "@rds-csi/core";
import { capabilityProblem } from "./access-modes.js";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { foreignId, ownVolumeId } from "./request-fields.js";

/**
 * ValidateVolumeCapabilities: confirms what this driver can serve for an existing volume. Unsupported
 * capabilities or parameters are not an error: the answer carries no confirmation and says why.
 */
export async function validateVolumeCapabilities(
  deps: ControllerDependencies,
  request: csi.ValidateVolumeCapabilitiesRequest,
  context: CallContext,
): Promise<csi.ValidateVolumeCapabilitiesResponse> {
  const id = ownVolumeId(request.volumeId, "volume_id");
  if (request.volumeCapabilities.length === 0) throw new InvalidArgumentError("volume_capabilities is required");
  // CSI ValidateVolumeCapabilities errors: "Volume does not exist | 5 NOT_FOUND".
  if (id === undefined) throw new NotFoundError(`volume ${foreignId(request.volumeId)} does not exist`);
  if ((await deps.rds.getVolume(id, context.signal)) === undefined) throw new NotFoundError(`volume ${id} does not exist`);
  const problems = request.volumeCapabilities.flatMap((capability, i) => capabilityProblem(capability, `volume_capabilities[${i}]`) ?? []);
  try {
    parseStorageClassParameters(request.parameters, deps.parameterDefaults);
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    problems.push(err.message);
  }
  problems.push(...mountFlagProblems(request));
  if (Object.keys(request.mutableParameters).length > 0) problems.push("mutable_parameters are not supported");
  if (problems.length > 0) return { confirmed: undefined, message: problems.join("; ") };
  return {
    confirmed: {
      volumeContext: request.volumeContext,
      volumeCapabilities: request.volumeCapabilities,
      parameters: request.parameters,
      mutableParameters: {},
    },
    message: "",
  };
}

/**
 * What the node would refuse of each mount capability's flags (core `checkMountOptions`, with the
 * volume context's filesystem and mountOptionsPolicy): a capability the node cannot mount is not confirmed.
 */
function mountFlagProblems(request: csi.ValidateVolumeCapabilitiesRequest): string[] {
  return refusals(() => {
    const { fsType: contextFsType, mountOptionsPolicy: policy } = parseVolumeContext(request.volumeContext);
    return request.volumeCapabilities.flatMap((capability, i) => {
      const fsType = capability.mount?.fsType || contextFsType || DEFAULT_FS_TYPE;
      // No mount access, or a filesystem capabilityProblem already reports.
      if (capability.mount === undefined || !isFsType(fsType)) return [];
      const flags = capability.mount.mountFlags;
      return refusals(() => {
        checkMountOptions({ fsType, flags, policy, field: `volume_capabilities[${i}].mount.mount_flags` });
        return [];
      });
    });
  });
}

/** What `check` finds, with an INVALID_ARGUMENT it throws as the one problem. */
function refusals(check: () => string[]): string[] {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    return [err.message];
  }
}
