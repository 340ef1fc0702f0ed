import { csi, FailedPreconditionError, InternalError, UnavailableError, type CallContext } from "@rds-csi/core";
import { disconnectIfUnused } from "./disconnect-if-unused.js";
import type { NodeContext } from "./node-context.js";
import { requireNodeCapability } from "./node-get-capabilities.js";
import { requireField, requireKubeletPath } from "./node-validation.js";
import { controllerLost } from "./reconnect-lost-controller.js";
import { readStagingMetadata, removeStagingMetadata, writeStagingMetadata, type StagingMetadata } from "./staging/staging-metadata.js";

/**
 * NodeUnstageVolume, driven by the staging metadata: mark it as being unstaged, unmount, disconnect
 * when nothing else uses the controller, verify it is gone, remove the metadata. No metadata → nothing
 * of ours is there → OK.
 */
export async function nodeUnstageVolume(ctx: NodeContext, request: csi.NodeUnstageVolumeRequest, call: CallContext): Promise<csi.NodeUnstageVolumeResponse> {
  requireNodeCapability(csi.NodeServiceCapability_RPC_Type.STAGE_UNSTAGE_VOLUME, "NodeUnstageVolume");
  const volumeId = requireField("volume_id", request.volumeId);
  const stagingPath = await requireKubeletPath(ctx.kubeletDir, "staging_target_path", request.stagingTargetPath);
  const logger = call.logger.child({ volume_id: volumeId });

  return ctx.locks.run(volumeId, call.signal, async (signal) => {
    const metadata = await readStagingMetadata(stagingPath, volumeId);
    if (metadata === undefined) return {};
    if (metadata.mode === "filesystem") await requireOwnStagingMount(ctx, metadata, stagingPath);
    // Marked before anything changes: should a step below fail, kubelet retries the unstage, and until
    // then the stale-mount watcher must not reconnect or remount what is being torn down.
    if (metadata.unstagingSince === undefined) await writeStagingMetadata(stagingPath, { ...metadata, unstagingSince: new Date().toISOString() });

    if (metadata.mode === "filesystem") {
      // Lazy unmount only once no controller can bring the device back: one that is merely not live
      // (connecting, resetting) may still flush what a detached mount holds, after this volume moved on.
      const deviceDead = controllerLost(await ctx.initiator.controllers(metadata.nqn));
      await ctx.mounter.unmount(stagingPath, { deviceDead, signal });
    }
    const decision = await disconnectIfUnused(ctx, volumeId, metadata.nqn, signal, logger);
    if (!decision.disconnect && decision.unverifiable) {
      throw new UnavailableError(`cannot tell whether the controller of ${metadata.nqn} is still used: ${decision.reason}`);
    }
    if (decision.disconnect) {
      const left = await ctx.initiator.controllers(metadata.nqn);
      if (left.length > 0) throw new InternalError(`controllers ${left.map((c) => c.name).join(", ")} of ${metadata.nqn} are still there after disconnect`);
    }
    await removeStagingMetadata(stagingPath, volumeId);
    ctx.staged.delete(volumeId);
    return {};
  });
}

/**
 * The mount at the staging path is this volume's: its recorded device, or the device its NQN and nsid
 * resolve to now (a recovery checked that device's data, moved the mount and was interrupted before
 * rewriting the metadata).
 * Anything else mounted there is not this volume's to unmount: refused before anything changes.
 */
async function requireOwnStagingMount(ctx: NodeContext, metadata: StagingMetadata, stagingPath: string): Promise<void> {
  const top = (await ctx.mounter.mountsOf(stagingPath)).at(-1);
  if (top === undefined || top.majorMinor === metadata.device.majorMinor) return;
  const current = await ctx.resolver.resolve(metadata.nqn, metadata.device.nsid).catch(() => undefined);
  if (current !== undefined && current.majorMinor === top.majorMinor) return;
  throw new FailedPreconditionError(`${stagingPath} is a mount of ${top.source} (${top.majorMinor}), not of volume ${metadata.volumeId} (device ${metadata.device.majorMinor}); not unmounting it`);
}
