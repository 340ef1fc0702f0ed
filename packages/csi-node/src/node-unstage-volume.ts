import { csi, FailedPreconditionError, UnavailableError, type CallContext } from "@rds-csi/core";
import { disconnectIfUnused } from "./disconnect-if-unused.js";
import { canonicalPath } from "./mount/canonical-path.js";
import type { NodeContext } from "./node-context.js";
import { requireNodeCapability } from "./node-get-capabilities.js";
import { requireField, requireKubeletPath } from "./node-validation.js";
import { readMountRefs } from "./nvme/device-usage.js";
import { controllerLost } from "./reconnect-lost-controller.js";
import { readStagingMetadata, removeStagingMetadata, writeStagingMetadata, type StagingMetadata } from "./staging/staging-metadata.js";

/**
 * NodeUnstageVolume, driven by the staging metadata: mark it as being unstaged, unmount, disconnect
 * when nothing else uses the controller, verify it is gone, remove the metadata. No metadata → nothing
 * of ours is there → OK. A volume still published on the node is refused before anything changes.
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
    await requireNoPublishedTarget(ctx, metadata, stagingPath);
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

/**
 * CSI spec, "RPC Interactions and Reference Counting": "All NodeUnpublishVolume MUST be called and
 * return success for a volume before NodeUnstageVolume MAY be called for the volume." A CO that breaks
 * that order (a confused kubelet, a manual call) is refused — FAILED_PRECONDITION, naming the targets;
 * the spec's NodeUnstageVolume error table has no row for it — before anything changes. Going on would
 * unmount the staging (the publish binds stay: binds are independent), keep the controller (the device
 * is still mounted through them) and drop the metadata, after which NodeUnpublish no longer knows the
 * target and the controller is never disconnected, while a pod writes to a volume the CO believes
 * unstaged.
 * A publish target is a mount under the kubelet directory, other than the staging path, of the
 * volume's device (filesystem: a bind of the staging mount) or a bind of its device node (block): the
 * mount table says so whether or not the target was recorded at publish. Mounts elsewhere (the host's
 * root seen again under another path) are not publish targets. A block target that cannot be stat'ed
 * in time is left to disconnectIfUnused, which refuses it as unverifiable before the metadata goes.
 */
async function requireNoPublishedTarget(ctx: NodeContext, metadata: StagingMetadata, stagingPath: string): Promise<void> {
  const staging = await canonicalPath(stagingPath);
  const table = await ctx.mounter.mountTable();
  // The device as staged, as the staging mount shows it, and as its NQN resolves now (a reconnect may
  // have renumbered it, and a block target binds the device the volume resolved to at publish).
  const devices = new Set([metadata.device.majorMinor]);
  const stagingMount = table.filter((m) => m.mountPoint === staging).at(-1);
  if (stagingMount !== undefined && metadata.mode === "filesystem") devices.add(stagingMount.majorMinor); // checked as this volume's above
  const current = await ctx.resolver.resolve(metadata.nqn, metadata.device.nsid).catch(() => undefined);
  if (current !== undefined) devices.add(current.majorMinor);
  const candidates = table.filter((m) => m.mountPoint.startsWith(`${ctx.kubeletDir}/`) && m.mountPoint !== staging);
  const published = (await readMountRefs(candidates, ctx.resolver.deviceNodes)).filter((m) => devices.has(m.majorMinor) || (typeof m.boundDevice === "string" && devices.has(m.boundDevice)));
  if (published.length === 0) return;
  const targets = [...new Set(published.map((m) => m.mountPoint))].join(", ");
  throw new FailedPreconditionError(`volume ${metadata.volumeId} is still published on this node at ${targets}; NodeUnpublishVolume them before NodeUnstageVolume`);
}
