import { lstat, rm, rmdir } from "node:fs/promises";
import { FailedPreconditionError, type CallContext, type csi } from "@rds-csi/core";
import { locateStagedVolume } from "./locate-staged-volume.js";
import type { NodeContext } from "./node-context.js";
import { requireField, requireKubeletPath } from "./node-validation.js";
import type { StagingMetadata } from "./staging/staging-metadata.js";

/**
 * NodeUnpublishVolume: unmount the target and remove it (non-recursively) — only when it is this
 * volume's: recorded at publish in the volume's staging metadata, or a mount of the volume (the
 * staging mount's device and root; for block, the staged device node). A target that is missing, or
 * that is not this volume's, is answered OK and left as it is (CSI: "If the volume corresponding to
 * the volume_id is not published at the target_path, the Plugin MUST reply 0 OK").
 */
export async function nodeUnpublishVolume(ctx: NodeContext, request: csi.NodeUnpublishVolumeRequest, call: CallContext): Promise<csi.NodeUnpublishVolumeResponse> {
  // No capability gate: NodeUnpublish is served by every node plugin.
  const volumeId = requireField("volume_id", request.volumeId);
  const targetPath = await requireKubeletPath(ctx.kubeletDir, "target_path", request.targetPath);
  const logger = call.logger.child({ volume_id: volumeId });

  return ctx.locks.run(volumeId, call.signal, async (signal) => {
    const info = await lstat(targetPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (info === undefined) return {};
    const located = await locateStagedVolume(ctx, volumeId, targetPath, "", signal);
    const why = located === undefined ? `volume ${volumeId} is not staged on this node` : await notThisVolumes(ctx, located.metadata, located.stagingPath, targetPath);
    if (why !== undefined) {
      logger.warn("NodeUnpublish: the target is not this volume's; left untouched", { target_path: targetPath, reason: why });
      return {};
    }
    await ctx.mounter.unmount(targetPath, { signal }); // abandoned with the call: a retry owns the lock next
    try {
      if (info.isDirectory()) await rmdir(targetPath);
      else await rm(targetPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOTEMPTY") throw new FailedPreconditionError(`${targetPath} is not empty after unmount; not removing it`);
      throw err;
    }
    return {};
  });
}

/** Why `targetPath` is not a publish target of the staged volume; undefined when it is. */
async function notThisVolumes(ctx: NodeContext, metadata: StagingMetadata, stagingPath: string, targetPath: string): Promise<string | undefined> {
  if (metadata.publishedTargets?.some((t) => t.path === targetPath) === true) return undefined;
  const top = (await ctx.mounter.mountsOf(targetPath)).at(-1);
  if (top === undefined) return `${targetPath} is not a mount and not a recorded target of volume ${metadata.volumeId}`;
  if (metadata.mode === "filesystem") {
    const staging = (await ctx.mounter.mountsOf(stagingPath)).at(-1);
    if (staging !== undefined && top.majorMinor === staging.majorMinor && top.root === staging.root) return undefined;
    return `${targetPath} is a mount of ${top.source} (${top.majorMinor}), not of the staging mount of volume ${metadata.volumeId}`;
  }
  const bound = (await ctx.resolver.deviceNodes.numberAt(targetPath).catch(() => undefined)) ?? undefined;
  if (bound === metadata.device.majorMinor) return undefined;
  return `${targetPath} is ${bound === undefined ? "not a block device" : `device ${bound}`}, not the staged device ${metadata.device.majorMinor} of volume ${metadata.volumeId}`;
}
