import { access, mkdir, open, readdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { AlreadyExistsError, csi, FailedPreconditionError, parseVolumeContext, type CallContext } from "@rds-csi/core";
import type { NodeContext } from "./node-context.js";
import { accessTypeOf, filesystemMountOf, requireField, requireKubeletPath } from "./node-validation.js";
import { readBlockDeviceNumbers } from "./nvme/block-device-numbers.js";
import { readStagingMetadata, writeStagingMetadata, type PublishedTarget, type StagingMetadata } from "./staging/staging-metadata.js";

/**
 * NodePublishVolume. Filesystem: bind mount of the staging path (read-only when asked). Block: bind
 * mount of the device node onto a target file. An existing correct target is OK; a stale block
 * target (device renumbered) is recreated; a target mounted from something else is refused.
 */
export async function nodePublishVolume(ctx: NodeContext, request: csi.NodePublishVolumeRequest, call: CallContext): Promise<csi.NodePublishVolumeResponse> {
  // No capability gate: NodePublish is served by every node plugin.
  const volumeId = requireField("volume_id", request.volumeId);
  const stagingPath = await requireKubeletPath(ctx.kubeletDir, "staging_target_path", request.stagingTargetPath);
  const targetPath = await requireKubeletPath(ctx.kubeletDir, "target_path", request.targetPath);
  const access = accessTypeOf(request.volumeCapability);
  // The bind takes no options of its own, but flags the volume's policy or filesystem refuses are
  // refused here too, before anything is made at the target.
  if (access.kind === "mount") filesystemMountOf(access, parseVolumeContext(request.volumeContext));
  const readonly = request.readonly;

  return ctx.locks.run(volumeId, call.signal, async () => {
    const metadata = await readStagingMetadata(stagingPath, volumeId);
    if (metadata === undefined) throw new FailedPreconditionError(`volume ${volumeId} is not staged at ${stagingPath}`);
    const wanted = access.kind === "block" ? "block" : "filesystem";
    if (metadata.mode !== wanted) throw new FailedPreconditionError(`volume ${volumeId} is staged as ${metadata.mode}, not ${wanted}`);
    if (request.volumeCapability!.accessMode!.mode === csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_SINGLE_WRITER) {
      await requireNoOtherTarget(ctx, metadata, targetPath);
    }
    if (metadata.mode === "filesystem") await publishFilesystem(ctx, metadata, stagingPath, targetPath, readonly);
    else await publishBlock(ctx, metadata, targetPath, readonly);
    await recordTarget(metadata, stagingPath, { path: targetPath, readonly });
    return {};
  });
}

async function publishFilesystem(ctx: NodeContext, metadata: StagingMetadata, stagingPath: string, targetPath: string, readonly: boolean): Promise<void> {
  const staging = await ctx.mounter.mountsOf(stagingPath);
  if (staging.at(-1)?.majorMinor !== metadata.device.majorMinor) {
    throw new FailedPreconditionError(`staging path ${stagingPath} is not mounted from the staged device ${metadata.device.majorMinor}`);
  }
  await mkdir(targetPath, { recursive: true });
  const existing = (await ctx.mounter.mountsOf(targetPath)).at(-1);
  if (existing === undefined && (await readdir(targetPath)).length > 0) throw new FailedPreconditionError(`target_path ${targetPath} is a directory with files in it; not mounting over them`);
  if (existing !== undefined) {
    const isReadonly = existing.mountOptions.includes("ro");
    const thisVolume = existing.majorMinor === metadata.device.majorMinor && existing.root === staging.at(-1)!.root;
    if (thisVolume && isReadonly === readonly) return;
    const what = `${targetPath} is already mounted (${existing.source}, ${existing.majorMinor}, ${isReadonly ? "ro" : "rw"})`;
    // CSI: this volume published at the target, but incompatible with the request → ALREADY_EXISTS.
    if (thisVolume) throw new AlreadyExistsError(`${what}, not ${readonly ? "ro" : "rw"} as requested`);
    throw new FailedPreconditionError(`${what}, not from volume ${metadata.volumeId}`);
  }
  await ctx.mounter.bindMount(stagingPath, targetPath, { readonly });
  const after = (await ctx.mounter.mountsOf(targetPath)).at(-1);
  if (after?.majorMinor !== metadata.device.majorMinor) throw new FailedPreconditionError(`${targetPath} is not a mount of the staged volume after binding`);
}

async function publishBlock(ctx: NodeContext, metadata: StagingMetadata, targetPath: string, readonly: boolean): Promise<void> {
  const identity = await ctx.resolver.resolve(metadata.nqn, metadata.device.nsid);
  if (identity === undefined) throw new FailedPreconditionError(`the namespace of ${metadata.nqn} is not present; stage the volume again`);

  await mkdir(dirname(targetPath), { recursive: true });
  const mounted = await ctx.mounter.isMountPoint(targetPath);
  const before = await stat(targetPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (!mounted && before !== undefined && !(before.isFile() && before.size === 0)) {
    throw new FailedPreconditionError(`target_path ${targetPath} is not an empty file; not binding the device over it`);
  }
  await (await open(targetPath, "a")).close(); // the bind target: an empty file
  if (mounted) {
    const bound = (await ctx.resolver.deviceNodes.numberAt(targetPath)) ?? undefined;
    if (bound === identity.majorMinor) return;
    // Only this volume's own stale bind is replaced (a reconnect renumbered the device): the device it
    // was staged from, or a device that no longer exists. Anything else at the target is not ours.
    if (bound === undefined || (bound !== metadata.device.majorMinor && (await readBlockDeviceNumbers(ctx.sysfs)).has(bound))) {
      throw new FailedPreconditionError(`${targetPath} is already a mount of ${bound === undefined ? "something that is not a block device" : `device ${bound}`}, not of volume ${metadata.volumeId}`);
    }
    await ctx.mounter.unmount(targetPath);
  }
  await ctx.resolver.verify(identity);
  await ctx.mounter.bindMount(identity.devicePath, targetPath, { readonly });
  if ((await ctx.resolver.deviceNodes.numberAt(targetPath)) !== identity.majorMinor) throw new FailedPreconditionError(`${targetPath} is not ${identity.devicePath} after binding`);
}

/**
 * SINGLE_NODE_SINGLE_WRITER (ReadWriteOncePod) allows one publish target on the node: a second pod
 * must not get the volume while the first still has it mounted (CSI spec: FAILED_PRECONDITION). A mount
 * table that cannot be read fails the call: never a second writer by mistake.
 */
async function requireNoOtherTarget(ctx: NodeContext, metadata: StagingMetadata, targetPath: string): Promise<void> {
  for (const target of metadata.publishedTargets ?? []) {
    if (target.path !== targetPath && (await ctx.mounter.isMountPoint(target.path))) {
      throw new FailedPreconditionError(`volume ${metadata.volumeId} is single-node-single-writer and already published at ${target.path}`);
    }
  }
}

/**
 * Writes the target into the staging metadata (durably, before answering) so stale-mount recovery can
 * find it: NodeUnpublish names no staging path. Records of targets that no longer exist are dropped here,
 * which keeps the list to the live targets without unpublish having to find the metadata.
 */
async function recordTarget(metadata: StagingMetadata, stagingPath: string, target: PublishedTarget): Promise<void> {
  const recorded = metadata.publishedTargets ?? [];
  if (recorded.some((t) => t.path === target.path)) return;
  const live: PublishedTarget[] = [];
  for (const t of recorded) {
    if (await access(t.path).then(() => true, () => false)) live.push(t);
  }
  await writeStagingMetadata(stagingPath, { ...metadata, publishedTargets: [...live, target] });
}
