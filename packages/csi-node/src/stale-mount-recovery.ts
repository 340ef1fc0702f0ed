import { abortableSleep, FailedPreconditionError } from "@rds-csi/core";
import type { NodeContext } from "./node-context.js";
import type { DeviceIdentity } from "./nvme/device-identity.js";
import { writeStagingMetadata, type StagingMetadata } from "./staging/staging-metadata.js";

/** Recovery attempts before giving up, and the pause between them. */
const ATTEMPTS = 3;
const RETRY_DELAY_MS = 200;

/**
 * After a reconnect that renumbered the controller or replaced the device, the staging mount still
 * sits on the old (dead) device while the NQN now resolves to a new one. When the staging mount is
 * the one recorded in `metadata` and the namespace now resolves, by the same nsid **and UUID**, to
 * another device: unmount the stale mount (lazily when the old device is gone), mount the current
 * device at the staging path with the recorded fs type, and rewrite the metadata with the new
 * identity. Bounded retries. No recovery counter: NodeContext carries no MetricsRegistry (a metric
 * nothing could ever register would be dead).
 *
 * Returns the new identity when it recovered, undefined when there is nothing stale to recover here
 * (not a filesystem staging, no mount, a mount that is not ours, or the namespace not resolved):
 * the caller goes on as before. A different UUID → FailedPreconditionError: never mount another namespace.
 *
 * Publish targets (the pods' bind mounts) are left alone: they keep the old device until the pod is
 * restarted and republished. Before recovery NodeGetVolumeStats reports such a target "stale"; after it,
 * the target is no longer a bind of the staging mount, so stats on it answer NOT_FOUND.
 */
export async function recoverStaleStaging(ctx: NodeContext, metadata: StagingMetadata, stagingPath: string, signal: AbortSignal): Promise<DeviceIdentity | undefined> {
  if (metadata.mode !== "filesystem" || metadata.fsType === null) return undefined;
  const fsType = metadata.fsType;
  let lastError: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    signal.throwIfAborted();
    try {
      const mount = (await ctx.mounter.mountsOf(stagingPath)).at(-1);
      const current = await ctx.resolver.resolve(metadata.nqn, metadata.device.nsid);
      if (mount === undefined || current === undefined) return undefined;
      if (mount.majorMinor === current.majorMinor) {
        // Already on the current device (an earlier attempt mounted, then failed before the metadata).
        if (current.uuid !== metadata.device.uuid.toLowerCase()) throw uuidMismatch(metadata, current);
        if (current.majorMinor !== metadata.device.majorMinor) await rewrite(metadata, stagingPath, current);
        return current.majorMinor !== metadata.device.majorMinor ? current : undefined;
      }
      // Only the mount this driver recorded is ours to replace.
      if (mount.majorMinor !== metadata.device.majorMinor) return undefined;
      if (current.uuid !== metadata.device.uuid.toLowerCase()) throw uuidMismatch(metadata, current);

      const deviceDead = !(await deviceExists(ctx, mount.majorMinor));
      await ctx.mounter.unmount(stagingPath, { deviceDead });
      const verified = await ctx.resolver.verify(current); // identity re-checked just before mounting
      await ctx.mounter.mount(verified.devicePath, stagingPath, fsType, []);
      const after = (await ctx.mounter.mountsOf(stagingPath)).at(-1);
      if (after?.majorMinor !== verified.majorMinor) throw new FailedPreconditionError(`${stagingPath} is not a mount of ${verified.devicePath} after remounting`);
      await rewrite(metadata, stagingPath, verified);
      return verified;
    } catch (err) {
      if (err instanceof UuidMismatchError) throw err;
      lastError = err;
      if (attempt < ATTEMPTS) await abortableSleep(RETRY_DELAY_MS, signal);
    }
  }
  throw lastError;
}

class UuidMismatchError extends FailedPreconditionError {}

function uuidMismatch(metadata: StagingMetadata, current: DeviceIdentity): UuidMismatchError {
  return new UuidMismatchError(
    `namespace ${metadata.device.nsid} of ${metadata.nqn} is now ${current.uuid} (${current.devicePath}), but ${metadata.volumeId} was staged from ${metadata.device.uuid}; refusing to mount another namespace`,
  );
}

async function rewrite(metadata: StagingMetadata, stagingPath: string, identity: DeviceIdentity): Promise<void> {
  await writeStagingMetadata(stagingPath, { ...metadata, device: { majorMinor: identity.majorMinor, nsid: identity.nsid, uuid: identity.uuid } });
}

/** Whether any block device in sysfs still carries this number. */
async function deviceExists(ctx: NodeContext, majorMinor: string): Promise<boolean> {
  for (const name of await ctx.sysfs.list("class/block")) {
    if ((await ctx.sysfs.read(`class/block/${name}/dev`)) === majorMinor) return true;
  }
  return false;
}
