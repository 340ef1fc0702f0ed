import { abortableSleep, FailedPreconditionError, UnavailableError } from "@rds-csi/core";
import type { NodeContext } from "./node-context.js";
import { readBlockDeviceNumbers } from "./nvme/block-device-numbers.js";
import { filesystemUuidOf } from "./mount/probe-filesystem.js";
import { recordedDevice, type DeviceIdentity } from "./nvme/device-identity.js";
import { writeStagingMetadata, type PublishedTarget, type StagingMetadata } from "./staging/staging-metadata.js";

/** Recovery attempts before giving up, and the pause between them. */
const ATTEMPTS = 3;
const RETRY_DELAY_MS = 200;

/**
 * After a reconnect that renumbered the controller or replaced the device, the volume's mounts still
 * sit on the old (dead) device while the NQN now resolves to a new one. When the namespace now
 * resolves, by the same NQN and nsid, to another device than the one recorded in `metadata`, that
 * device holds this volume's data (see notThisVolume), and the old device is gone (see
 * oldDeviceStillPresent):
 * - filesystem: if the staging mount is the recorded one, unmount it (lazily: its device is gone) and
 *   mount the current device there with the recorded fs type and mount options;
 * - both modes: re-bind each recorded publish target that is still a mount of the old device (the
 *   staging mount, or the device node for block) and mark it re-bound: containers started before
 *   keep the old mount in their own mount namespace, which nothing on the host can change, so
 *   NodeGetVolumeStats keeps reporting such a target until it is unpublished;
 * - rewrite the metadata with the new identity (last, so a retry still knows the old device).
 * Bounded retries. The one implementation behind a retried NodeStage and the stale-mount watcher;
 * the caller holds the volume lock.
 *
 * Returns the new identity when it recovered, undefined when there is nothing stale to recover here
 * (no mount, a mount that is not ours, the namespace not resolved, or nothing moved): the caller goes
 * on as before. Another volume's data → UuidMismatchError: never mount another namespace. The old
 * device still present → OldDeviceAliveError, nothing touched: the mounts on it still work, and a second
 * filesystem instance of the same namespace beside the one the pods hold would corrupt it.
 */
export async function recoverStaleStaging(ctx: NodeContext, metadata: StagingMetadata, stagingPath: string, signal: AbortSignal): Promise<DeviceIdentity | undefined> {
  const kind = metadata.mode;
  let detected = false;
  let lastError: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    signal.throwIfAborted();
    try {
      const current = await ctx.resolver.resolve(metadata.nqn, metadata.device.nsid);
      if (current === undefined) return undefined;
      const stale = await findStale(ctx, metadata, stagingPath, current);
      if (stale === undefined) return undefined;
      const foreign = await notThisVolume(ctx, metadata, current, signal);
      const oldDevice = foreign === undefined ? await oldDeviceStillPresent(ctx, metadata.device) : undefined;
      if (oldDevice !== undefined) throw new OldDeviceAliveError(`${metadata.volumeId}: ${metadata.nqn} now resolves to ${current.devicePath} (${current.majorMinor}), but ${oldDeviceAlive(oldDevice, metadata.device.majorMinor)}`);
      if (!detected) {
        detected = true;
        ctx.staleMounts?.detected(kind);
      }
      if (foreign !== undefined) {
        ctx.staleMounts?.finished(kind, "refused");
        throw foreign;
      }
      if (stale === "staging") {
        await ctx.mounter.unmount(stagingPath, { deviceDead: true, signal });
      }
      const verified = await ctx.resolver.verify(current); // identity re-checked just before mounting
      if (stale !== "moved") {
        // Mounted as the stage mounted it. XFS refuses a filesystem UUID that is still mounted, and the
        // old superblock stays mounted wherever a pod's target or a container's namespace holds it.
        // Skipping that check is safe because the old device is gone: nothing can write through the old
        // superblock any more.
        const options = [...(metadata.mountFlags ?? [])];
        if (metadata.fsType === "xfs" && !options.includes("nouuid")) options.push("nouuid");
        await ctx.mounter.mount(verified.devicePath, stagingPath, metadata.fsType!, options, signal);
        const after = (await ctx.mounter.mountsOf(stagingPath)).at(-1);
        if (after?.majorMinor !== verified.majorMinor) throw new FailedPreconditionError(`${stagingPath} is not a mount of ${verified.devicePath} after remounting`);
      }
      const publishedTargets = await rebindTargets(ctx, metadata, stagingPath, verified);
      await writeStagingMetadata(stagingPath, {
        ...metadata,
        device: recordedDevice(verified),
        publishedTargets,
      });
      ctx.staleMounts?.finished(kind, "recovered");
      return verified;
    } catch (err) {
      if (err instanceof UuidMismatchError || err instanceof OldDeviceAliveError) throw err;
      lastError = err;
      if (attempt < ATTEMPTS) await abortableSleep(RETRY_DELAY_MS, signal);
    }
  }
  if (detected) ctx.staleMounts?.finished(kind, "failed");
  throw lastError;
}

/**
 * What is stale, once the NQN resolves to another device than the recorded one: "staging" (the
 * filesystem staging mount is on the recorded device), "unmounted" (nothing at the staging path: an
 * attempt unmounted it and failed to mount), "moved" (the staging is already on the current device, or
 * block mode, but the metadata and the targets still name the old one), or nothing of ours.
 */
async function findStale(ctx: NodeContext, metadata: StagingMetadata, stagingPath: string, current: DeviceIdentity): Promise<"staging" | "unmounted" | "moved" | undefined> {
  if (current.majorMinor === metadata.device.majorMinor) return undefined;
  if (metadata.mode === "block") return "moved";
  const mount = (await ctx.mounter.mountsOf(stagingPath)).at(-1);
  if (mount === undefined) return "unmounted";
  if (mount.majorMinor === current.majorMinor) return "moved";
  // Only the mount this driver recorded is ours to replace.
  return mount.majorMinor === metadata.device.majorMinor ? "staging" : undefined;
}

/**
 * Re-binds the recorded targets still on the old device onto the current one; keeps those already on
 * it; drops the records of targets that are gone or now hold something else (not ours to touch).
 */
async function rebindTargets(ctx: NodeContext, metadata: StagingMetadata, stagingPath: string, current: DeviceIdentity): Promise<PublishedTarget[]> {
  const old = metadata.device.majorMinor;
  const kept: PublishedTarget[] = [];
  for (const target of metadata.publishedTargets ?? []) {
    const device = await deviceOfTarget(ctx, metadata, target.path);
    if (device === current.majorMinor) kept.push(target);
    if (device !== old) continue;
    if (metadata.mode === "block") {
      // Not stacked like a filesystem target: the top bind's root is the old device node, which devtmpfs
      // unlinked with the disk, and mount(2) refuses to mount on an unlinked dentry (ENOENT). Without
      // `mount --beneath` (util-linux 2.42) the target is briefly the bare file in between
      // (docs/design/stale-mount-recovery.md).
      await ctx.mounter.unmount(target.path, { deviceDead: true });
      await ctx.mounter.bindMount(current.devicePath, target.path, { readonly: target.readonly });
    } else {
      // A filesystem target gets the new bind on top of the old, dead one, never after unmounting it: in
      // between, the target would be a plain directory on the node's own filesystem, where a writer's
      // new file lands, is acknowledged, and vanishes once the bind covers it (and NodeUnpublish then
      // finds the directory not empty). The dead layer underneath goes at NodeUnpublish, which unmounts
      // every layer of a target; start-up reconciliation judges a mount point by its top layer.
      await ctx.mounter.bindMount(stagingPath, target.path, { readonly: target.readonly });
    }
    if ((await deviceOfTarget(ctx, metadata, target.path)) !== current.majorMinor) {
      throw new FailedPreconditionError(`${target.path} is not ${current.devicePath} after re-binding`);
    }
    kept.push({ ...target, reboundAt: new Date().toISOString() });
  }
  return kept;
}

/** The device a target shows: its mount's device (filesystem) or the bound device node's number (block). */
export async function deviceOfTarget(ctx: NodeContext, metadata: StagingMetadata, path: string): Promise<string | undefined> {
  const mount = (await ctx.mounter.mountsOf(path)).at(-1);
  if (mount === undefined) return undefined;
  if (metadata.mode === "filesystem") return mount.majorMinor;
  return (await ctx.resolver.deviceNodes.numberAt(path)) ?? undefined;
}

/**
 * Why the namespace found again under the volume's NQN and nsid is not the staged volume, or undefined
 * when it is. NQN + nsid are the identity (the NQN carries the volume id, the RDS exports one namespace
 * per subsystem); the namespace UUID is not: a target may hand out a new one when it restarts, or
 * report none (docs/design/device-identity.md). What is checked instead:
 * - filesystem mode with the filesystem UUID recorded at stage: blkid must find that very filesystem
 *   on the device (a volume replaced behind the same NQN holds another one, or none);
 * - otherwise (block mode, or metadata from before the filesystem UUID was recorded): a namespace UUID
 *   recorded and reported that differs is refused, as before; an absent one is not held against it.
 */
async function notThisVolume(ctx: NodeContext, metadata: StagingMetadata, current: DeviceIdentity, signal: AbortSignal): Promise<UuidMismatchError | undefined> {
  if (metadata.mode === "filesystem" && metadata.filesystemUuid !== undefined) {
    const found = await filesystemUuidOf(ctx.probe, current.devicePath, signal).catch((err: unknown) => `no readable filesystem (${(err as Error).message})`);
    if (found === metadata.filesystemUuid) return undefined;
    return new UuidMismatchError(
      `namespace ${metadata.device.nsid} of ${metadata.nqn} (${current.devicePath}) holds ${found === undefined ? "a filesystem without a UUID" : `filesystem ${found}`}, but ${metadata.volumeId} was staged with filesystem ${metadata.filesystemUuid}; refusing to mount another volume's data`,
      current.majorMinor,
    );
  }
  if (metadata.device.uuid === "" || current.uuid === undefined || current.uuid === metadata.device.uuid.toLowerCase()) return undefined;
  return uuidMismatch(metadata, current);
}

/** The NQN now resolves to another volume's data: never recovered onto, never retried for that device. */
export class UuidMismatchError extends FailedPreconditionError {
  constructor(
    message: string,
    /** the foreign namespace's device */
    readonly majorMinor: string,
  ) {
    super(message);
  }
}

export function uuidMismatch(metadata: StagingMetadata, current: DeviceIdentity): UuidMismatchError {
  return new UuidMismatchError(
    `namespace ${metadata.device.nsid} of ${metadata.nqn} is now ${current.uuid} (${current.devicePath}), but ${metadata.volumeId} was staged from ${metadata.device.uuid}; refusing to mount another namespace`,
    current.majorMinor,
  );
}

/**
 * The old device still exists: nothing is moved until it is gone, and it may go later (the kernel
 * deleting its controller), so callers retry rather than give up.
 */
export class OldDeviceAliveError extends UnavailableError {}

/** Why a volume whose namespace moved to a new device is left on its old one (error and volume condition). */
export function oldDeviceAlive(name: string, majorMinor: string): string {
  return `the old device ${name} (${majorMinor}) still exists; not moving the volume's mounts while the old filesystem or device may still be written`;
}

/**
 * The block device that still carries the recorded device number, or undefined once the old device is
 * provably gone. Fails closed: a device with that number counts as the old one unless its namespace UUID
 * is positively another one. While anything (a pod's target, a container's mount namespace) holds the
 * old device the kernel does not hand its number out again; a device of another namespace there means
 * the old one was released. Presence alone decides, not the controller's state: a device whose
 * controller is reconnecting becomes writable again when it comes back.
 */
export async function oldDeviceStillPresent(ctx: NodeContext, recorded: StagingMetadata["device"]): Promise<string | undefined> {
  for (const name of (await readBlockDeviceNumbers(ctx.sysfs)).get(recorded.majorMinor) ?? []) {
    const uuid = await ctx.sysfs.read(`class/block/${name}/uuid`);
    if (uuid === undefined || recorded.uuid === "" || uuid.toLowerCase() === recorded.uuid.toLowerCase()) return name;
  }
  return undefined;
}
