import { InternalError, type Logger } from "@rds-csi/core";
import type { NodeContext } from "./node-context.js";
import { decideDisconnect, isManagedNqn, type DisconnectDecision, type MountRef } from "./nvme/disconnect-policy.js";
import { readDeviceUsage, readMountRefs } from "./nvme/device-usage.js";

/**
 * Gathers what decideDisconnect needs (an input that cannot be read stays undefined, which keeps
 * the controller) and disconnects only when it says so, then checks the controller is gone. A controller of this driver that it keeps is
 * recorded in ctx.keptControllers, where the stale-mount watcher finds it again (no RPC will).
 */
export async function disconnectIfUnused(ctx: NodeContext, volumeId: string, nqn: string, signal: AbortSignal, logger: Logger): Promise<DisconnectDecision> {
  const usage = await readDeviceUsage(ctx.resolver, ctx.sysfs, nqn);
  if (usage.error !== undefined) logger.warn("cannot resolve the device for the disconnect decision", { nqn, error: String(usage.error) });
  let mounts: MountRef[] | undefined;
  try {
    mounts = await readMountRefs(await ctx.mounter.mountTable(), ctx.resolver.deviceNodes);
  } catch (err) {
    logger.warn("cannot read the mount table for the disconnect decision", { error: String(err) });
  }
  const decision = decideDisconnect({
    volumeId,
    nqn,
    managedPrefix: ctx.managedNqnPrefix,
    device: usage.device,
    mounts,
    holders: usage.holders,
    exclusivelyOpened: usage.exclusivelyOpened,
    stagedVolumes: ctx.staged.list(),
  });
  if (decision.disconnect) {
    await ctx.initiator.disconnect(nqn, signal);
    // nvme disconnect may exit 0 and leave a controller behind: it stays recorded as kept, so the
    // stale-mount watcher tries again, and the caller learns it failed.
    const left = await ctx.initiator.controllers(nqn);
    if (left.length > 0) {
      ctx.keptControllers.keep({ nqn, volumeId, reason: "still there after nvme disconnect" });
      throw new InternalError(`controllers ${left.map((c) => c.name).join(", ")} of ${nqn} are still there after disconnect`);
    }
    ctx.keptControllers.forget(nqn);
    return decision;
  }
  // Logged when the reason changes: the watcher asks again every sweep.
  const changed = !isManagedNqn(nqn, ctx.managedNqnPrefix) || ctx.keptControllers.keep({ nqn, volumeId, reason: decision.reason });
  if (changed) logger.info("controller kept connected", { nqn, reason: decision.reason });
  else logger.debug("controller kept connected", { nqn, reason: decision.reason });
  return decision;
}
