import { rm, rmdir, stat } from "node:fs/promises";
import { FailedPreconditionError, type CallContext, type csi } from "@rds-csi/core";
import type { NodeContext } from "./node-context.js";
import { requireAbsolutePath, requireField } from "./node-validation.js";

/** NodeUnpublishVolume: unmount the target, remove it non-recursively. A missing target is OK. */
export async function nodeUnpublishVolume(ctx: NodeContext, request: csi.NodeUnpublishVolumeRequest, call: CallContext): Promise<csi.NodeUnpublishVolumeResponse> {
  const volumeId = requireField("volume_id", request.volumeId);
  const targetPath = requireAbsolutePath("target_path", request.targetPath);

  return ctx.locks.run(volumeId, call.signal, async (signal) => {
    const info = await stat(targetPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (info === undefined) return {};
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
