import type { Logger } from "@rds-csi/core";
import type { NodeContext } from "./node-context.js";
import { decideDisconnect, type DeviceState, type DisconnectDecision, type MountRef } from "./nvme/disconnect-policy.js";

/**
 * Gathers what decideDisconnect needs (an input that cannot be read stays undefined, which keeps
 * the controller) and disconnects only when it says so.
 */
export async function disconnectIfUnused(ctx: NodeContext, volumeId: string, nqn: string, signal: AbortSignal, logger: Logger): Promise<DisconnectDecision> {
  let device: DeviceState | undefined;
  let holders: string[] | undefined;
  try {
    const identity = await ctx.resolver.resolve(nqn);
    device = identity === undefined ? { kind: "absent" } : { kind: "present", majorMinor: identity.majorMinor, devicePath: identity.devicePath };
    holders = identity === undefined ? [] : await ctx.sysfs.list(`class/block/${identity.name}/holders`);
  } catch (err) {
    logger.warn("cannot resolve the device for the disconnect decision", { nqn, error: String(err) });
  }
  let mounts: MountRef[] | undefined;
  try {
    mounts = (await ctx.mountTable()).map((m) => ({ mountPoint: m.mountPoint, majorMinor: m.majorMinor, source: m.source }));
  } catch (err) {
    logger.warn("cannot read the mount table for the disconnect decision", { error: String(err) });
  }
  const decision = decideDisconnect({
    volumeId,
    nqn,
    managedPrefix: ctx.managedNqnPrefix,
    device,
    mounts,
    holders,
    stagedVolumes: ctx.staged.list(),
  });
  if (decision.disconnect) {
    await ctx.initiator.disconnect(nqn, signal);
  } else {
    logger.info("controller kept connected", { nqn, reason: decision.reason });
  }
  return decision;
}
