import { FailedPreconditionError, UnavailableError } from "@rds-csi/core";
import type { NodeContext } from "./node-context.js";
import type { DeviceIdentity } from "./nvme/device-identity.js";
import type { ControllerInfo } from "./nvme/nvme-initiator.js";
import { connectSettingsOf, type StagingMetadata } from "./staging/staging-metadata.js";

/** States from which the kernel still brings a controller to live by itself (or already has). */
const LIVE_OR_RETURNING = new Set(["live", "connecting", "resetting", "new"]);

/**
 * No controller of the subsystem is live or on its way back: the kernel deleted it once
 * `ctrl_loss_tmo` expired (or someone disconnected it), and only a new `nvme connect` brings the
 * namespace back. A controller that is `deleting` or `dead` counts as gone.
 */
export function controllerLost(controllers: readonly ControllerInfo[]): boolean {
  return !controllers.some((c) => LIVE_OR_RETURNING.has(c.state));
}

/** The connect failed or the namespace did not come back in time: the RDS may still be down. Retried. */
export class ReconnectFailedError extends UnavailableError {}

/** This node's host NQN is not the one the volume was staged with: the RDS granted another host. Not retried. */
export class HostIdentityMismatchError extends FailedPreconditionError {}

/** The volume is no longer attached to this node (it moved while the node was cut off). Never reconnected. */
export class VolumeMovedError extends FailedPreconditionError {}

/**
 * When the staged volume's controller is gone, connects again exactly as the stage did — the recorded
 * address, port and NQN, this node's host identity (which must be the recorded host NQN) and the
 * recorded connect settings — then waits, bounded, for the namespace with the recorded nsid. Whether it
 * holds this volume's data is recoverStaleStaging's check (its UUID may have changed with a target
 * restart: docs/design/device-identity.md), made before anything is mounted. Returns the namespace once
 * back, or undefined when there is nothing to reconnect: a controller is there, or the volume is being
 * unstaged (its disconnect may be what removed the controller; kubelet retries the unstage, and only a
 * NodeStage brings it back). Moving the mounts onto the new device is recoverStaleStaging's job; the
 * caller holds the volume lock and runs it next.
 */
export async function reconnectLostController(ctx: NodeContext, metadata: StagingMetadata, signal: AbortSignal): Promise<DeviceIdentity | undefined> {
  const { nqn, address, port } = metadata;
  if (metadata.unstagingSince !== undefined) return undefined;
  if (!controllerLost(await ctx.initiator.controllers(nqn))) return undefined;
  if (metadata.hostNqn !== ctx.host.hostNqn) {
    ctx.staleMounts?.reconnected("refused");
    throw new HostIdentityMismatchError(
      `${metadata.volumeId} was staged as host ${metadata.hostNqn}, but this node is now ${ctx.host.hostNqn}; not reconnecting ${nqn} under another identity`,
    );
  }
  if (ctx.attachments !== undefined) {
    // A node that was fenced and came back: the volume may be attached to another node by now, and
    // reconnecting would give two hosts one RWO volume. Only a VolumeAttachment for this node that is
    // still attached allows the connect; when that cannot be read, not now (fail closed, retried).
    const state = await ctx.attachments.stateOf(metadata.volumeId, signal);
    if (state === "gone") {
      ctx.staleMounts?.reconnected("refused");
      throw new VolumeMovedError(`${metadata.volumeId} is no longer attached to this node (its VolumeAttachment is gone or being deleted); not reconnecting ${nqn}`);
    }
    if (state === "unknown") {
      ctx.staleMounts?.reconnected("failed");
      throw new ReconnectFailedError(`cannot tell whether ${metadata.volumeId} is still attached to this node (the API server did not say); not reconnecting ${nqn} until it can`);
    }
  }
  let identity: DeviceIdentity;
  try {
    await ctx.initiator.connect({ address, port, nqn, hostNqn: ctx.host.hostNqn, hostId: ctx.host.hostId, ...connectSettingsOf(metadata) }, signal);
    identity = await ctx.resolver.waitForNamespace(nqn, signal, ctx.namespaceTimeoutMs, metadata.device.nsid);
  } catch (err) {
    ctx.staleMounts?.reconnected("failed");
    throw new ReconnectFailedError(`reconnecting ${nqn} at ${address}:${port}: ${(err as Error).message}`, { cause: err });
  }
  ctx.staleMounts?.reconnected("connected");
  return identity;
}
