import { statfs } from "node:fs/promises";
import { csi, NotFoundError, type CallContext } from "@rds-csi/core";
import type { NodeContext } from "./node-context.js";
import { requireNodeCapability } from "./node-get-capabilities.js";
import { requireField, requireKubeletPath } from "./node-validation.js";
import type { DeviceIdentity } from "./nvme/device-identity.js";
import type { ControllerInfo } from "./nvme/nvme-initiator.js";
import { controllerLost } from "./reconnect-lost-controller.js";
import { connectSettingsOf, type StagingMetadata } from "./staging/staging-metadata.js";
import { locateStagedVolume } from "./locate-staged-volume.js";
import { oldDeviceAlive, oldDeviceStillPresent } from "./stale-mount-recovery.js";

/**
 * NodeGetVolumeStats: bytes and inodes (statfs) of a filesystem volume, size (sysfs) of a block
 * volume, and a volume condition that says what is wrong: the connection is lost (controller gone:
 * the node reconnects), the controller is not live (the kernel is reconnecting), the mount is stale (its device is no longer the one the NQN resolves to), the filesystem went read-only, or a NodeUnstage began and did not finish.
 * Never takes the volume lock (stats must not queue behind a long stage) and never changes anything.
 */
export async function nodeGetVolumeStats(ctx: NodeContext, request: csi.NodeGetVolumeStatsRequest, call: CallContext): Promise<csi.NodeGetVolumeStatsResponse> {
  requireNodeCapability(csi.NodeServiceCapability_RPC_Type.GET_VOLUME_STATS, "NodeGetVolumeStats");
  const volumeId = requireField("volume_id", request.volumeId);
  const volumePath = await requireKubeletPath(ctx.kubeletDir, "volume_path", request.volumePath);
  const stagingTargetPath = request.stagingTargetPath === "" ? "" : await requireKubeletPath(ctx.kubeletDir, "staging_target_path", request.stagingTargetPath);
  call.signal.throwIfAborted();

  const located = await locateStagedVolume(ctx, volumeId, volumePath, stagingTargetPath, call.signal);
  if (located === undefined) throw new NotFoundError(`volume ${volumeId} is not staged on this node`);
  const { metadata, stagingPath } = located;
  // What is at the volume path: a block device's number, null for anything else (a directory).
  const pathDevice = await ctx.resolver.deviceNodes.numberAt(volumePath);
  if (pathDevice === undefined) throw new NotFoundError(`volume path ${volumePath} does not exist`);

  const problems: string[] = [];
  if (metadata.unstagingSince !== undefined) {
    problems.push(`being unstaged since ${metadata.unstagingSince}: a NodeUnstage did not finish and kubelet retries it; the node does not reconnect or remount the volume meanwhile`);
  }
  const controllers = await ctx.initiator.controllers(metadata.nqn);
  const lost = controllerLost(controllers);
  if (lost) problems.push(connectionLost(ctx, metadata, controllers));
  else if (!controllers.some((c) => c.state === "live")) {
    problems.push(`controller ${controllers.map((c) => `${c.name} is ${c.state}`).join(", ")} (not live) for ${metadata.nqn}`);
  }

  let current: DeviceIdentity | undefined;
  try {
    current = await ctx.resolver.resolve(metadata.nqn, metadata.device.nsid);
    // A lost controller takes its namespace with it; that is said above already.
    if (current === undefined) {
      if (!lost) problems.push(`namespace ${metadata.device.nsid} of ${metadata.nqn} is not present`);
    } else if (current.majorMinor !== metadata.device.majorMinor) {
      // Why the stale mounts reported below are not being moved.
      const old = await oldDeviceStillPresent(ctx, metadata.device);
      if (old !== undefined) problems.push(oldDeviceAlive(old, metadata.device.majorMinor));
    }
  } catch (err) {
    problems.push(`namespace of ${metadata.nqn} cannot be resolved: ${(err as Error).message}`);
  }

  // A target recorded at publish stays this volume's even when it no longer matches the staging (the
  // staging moved to a new device): it is reported stale, not unknown.
  const recorded = metadata.publishedTargets?.find((t) => t.path === volumePath);
  if (recorded?.reboundAt !== undefined) {
    problems.push(`${volumePath} was re-bound onto the volume's new device at ${recorded.reboundAt} after a reconnect; containers started before then still use the old device: restart the pod`);
  }

  let usage: csi.VolumeUsage[];
  if (metadata.mode === "filesystem") {
    if (volumePath !== stagingPath && recorded === undefined) {
      // A published path must be a bind of the staging mount (same device and root).
      const staging = (await ctx.mounter.mountsOf(stagingPath)).at(-1);
      const published = (await ctx.mounter.mountsOf(volumePath)).at(-1);
      if (published === undefined || staging === undefined || published.majorMinor !== staging.majorMinor || published.root !== staging.root) {
        throw new NotFoundError(`${volumePath} is not a published path of volume ${volumeId} (staged at ${stagingPath})`);
      }
    }
    const mount = (await ctx.mounter.mountsOf(volumePath)).at(-1);
    if (mount === undefined) {
      problems.push(`${volumePath} is not mounted`);
    } else {
      if (current !== undefined && mount.majorMinor !== current.majorMinor) {
        problems.push(`stale mount: ${volumePath} is on device ${mount.majorMinor}, but ${metadata.nqn} now resolves to ${current.devicePath} (${current.majorMinor})`);
      }
      // The superblock read-only means the filesystem itself went read-only (errors=remount-ro, a
      // dead device); per-mount "ro" is expected on a read-only publish, never on the staging mount.
      if (mount.superOptions.includes("ro") || (volumePath === stagingPath && mount.mountOptions.includes("ro"))) {
        problems.push(`filesystem at ${volumePath} is mounted read-only`);
      }
    }
    const fs = await statfs(volumePath, { bigint: true });
    usage = [
      { unit: csi.VolumeUsage_Unit.BYTES, total: fs.blocks * fs.bsize, available: fs.bavail * fs.bsize, used: (fs.blocks - fs.bfree) * fs.bsize },
      { unit: csi.VolumeUsage_Unit.INODES, total: fs.files, available: fs.ffree, used: fs.files - fs.ffree },
    ];
  } else {
    if (volumePath !== stagingPath) {
      if (pathDevice === null) throw new NotFoundError(`${volumePath} is not a published block target of volume ${volumeId}`);
      if (recorded === undefined && pathDevice !== metadata.device.majorMinor && pathDevice !== current?.majorMinor) {
        throw new NotFoundError(`${volumePath} is device ${pathDevice}, not volume ${volumeId}`);
      }
      if (current !== undefined && pathDevice !== current.majorMinor) {
        problems.push(`stale block target: ${volumePath} is device ${pathDevice}, but ${metadata.nqn} now resolves to ${current.devicePath} (${current.majorMinor})`);
      }
    } else if (current !== undefined && current.majorMinor !== metadata.device.majorMinor) {
      problems.push(`stale staging: ${metadata.nqn} now resolves to ${current.majorMinor}, staged was ${metadata.device.majorMinor}`);
    }
    usage = current === undefined ? [] : [{ unit: csi.VolumeUsage_Unit.BYTES, total: BigInt(current.sizeBytes), available: 0n, used: 0n }];
  }

  return { usage, volumeCondition: { abnormal: problems.length > 0, message: problems.length > 0 ? problems.join("; ") : "volume is healthy" } };
}

/** What a lost connection means for this volume, and whether this node will reconnect it. */
function connectionLost(ctx: NodeContext, metadata: StagingMetadata, controllers: readonly ControllerInfo[]): string {
  const { ctrlLossTmo } = connectSettingsOf(metadata);
  const what = controllers.length === 0 ? "no controller is left" : `controller ${controllers.map((c) => `${c.name} is ${c.state}`).join(", ")}`;
  const why = ctrlLossTmo === -1 ? "it was disconnected" : `the kernel gives up after ctrl_loss_tmo ${ctrlLossTmo} s`;
  const next =
    metadata.unstagingSince !== undefined
      ? "not reconnecting: the volume is being unstaged"
      : metadata.hostNqn === ctx.host.hostNqn
      ? "I/O fails until the node reconnects; it keeps retrying and remounts once the RDS answers"
      : `not reconnecting: staged as host ${metadata.hostNqn}, but this node is now ${ctx.host.hostNqn}`;
  return `NVMe/TCP connection lost: ${what} for ${metadata.nqn} at ${metadata.address}:${metadata.port} (${why}); ${next}`;
}
