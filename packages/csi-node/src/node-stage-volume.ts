import { mkdir, readdir, stat } from "node:fs/promises";
import {
  AlreadyExistsError,
  csi,
  FailedPreconditionError,
  parsePublishContext,
  parseVolumeContext,
  UnavailableError,
  type CallContext,
  type ConnectSettings,
  type FsType,
  type PublishTarget,
} from "@rds-csi/core";
import { disconnectIfUnused } from "./disconnect-if-unused.js";
import { filesystemUuidOf } from "./mount/probe-filesystem.js";
import type { NodeContext } from "./node-context.js";
import { requireNodeCapability } from "./node-get-capabilities.js";
import { accessTypeOf, filesystemMountOf, requireField, requireKubeletPath } from "./node-validation.js";
import { recordedDevice, type DeviceIdentity } from "./nvme/device-identity.js";
import { reconnectLostController } from "./reconnect-lost-controller.js";
import { readStagingMetadata, writeStagingMetadata, type StagingMetadata } from "./staging/staging-metadata.js";
import { recoverStaleStaging } from "./stale-mount-recovery.js";

/** What a NodeStage asks for, validated. */
interface StageRequest {
  readonly volumeId: string;
  readonly stagingPath: string;
  readonly target: PublishTarget;
  readonly connect: ConnectSettings;
  readonly mode: StagingMetadata["mode"];
  /** null for block */
  readonly fsType: FsType | null;
  readonly mountFlags: readonly string[];
}

/**
 * NodeStageVolume: capability → validate (no side effects) → lock → look up the metadata → refuse a
 * conflict → recover an existing staging (one step) → or stage: connect, wait, resolve, (probe, format
 * only when empty, mount), read back, write metadata. On failure, undoes only what this call did.
 */
export async function nodeStageVolume(ctx: NodeContext, request: csi.NodeStageVolumeRequest, call: CallContext): Promise<csi.NodeStageVolumeResponse> {
  requireNodeCapability(csi.NodeServiceCapability_RPC_Type.STAGE_UNSTAGE_VOLUME, "NodeStageVolume");
  const volumeId = requireField("volume_id", request.volumeId);
  const stagingPath = await requireKubeletPath(ctx.kubeletDir, "staging_target_path", request.stagingTargetPath);
  const access = accessTypeOf(request.volumeCapability);
  const target = parsePublishContext(request.publishContext);
  const volume = parseVolumeContext(request.volumeContext);
  const filesystem = access.kind === "mount" ? filesystemMountOf(access, volume) : undefined;
  const wanted: StageRequest = {
    volumeId, stagingPath, target, connect: volume.connect,
    mode: filesystem === undefined ? "block" : "filesystem",
    fsType: filesystem?.fsType ?? null,
    mountFlags: filesystem?.mountFlags ?? [],
  };
  const logger = call.logger.child({ volume_id: volumeId });

  return ctx.locks.run(volumeId, call.signal, async (signal) => {
    const existing = await ctx.stageRecorder.time("metadata_read", () => readStagingMetadata(stagingPath, volumeId));
    if (existing !== undefined) requireSameStaging(existing, wanted);
    requireNqnNotShared(ctx, wanted);
    if (existing !== undefined && (await recoverExisting(ctx, existing, stagingPath, signal))) {
      logger.info("volume already staged here; answered from its staging");
    } else {
      await stage(ctx, wanted, existing, signal, logger);
    }
    ctx.staged.add(volumeId, target.nqn);
    return {};
  });
}

/** CSI: staged at this path, but incompatible with the request → ALREADY_EXISTS. */
function requireSameStaging(existing: StagingMetadata, wanted: StageRequest): void {
  if (existing.nqn !== wanted.target.nqn || existing.mode !== wanted.mode || existing.fsType !== wanted.fsType) {
    throw new AlreadyExistsError(
      `volume ${wanted.volumeId} is staged at ${wanted.stagingPath} as ${existing.mode}/${existing.fsType ?? "-"} of ${existing.nqn}, not ${wanted.mode}/${wanted.fsType ?? "-"} of ${wanted.target.nqn}`,
    );
  }
}

/**
 * One namespace, one volume: a publish context naming another staged volume's NQN must not probe,
 * format or mount that volume's device (a block volume reads as empty to blkid).
 */
function requireNqnNotShared(ctx: NodeContext, wanted: StageRequest): void {
  const sharing = ctx.staged.list().filter((v) => v.nqn === wanted.target.nqn && v.volumeId !== wanted.volumeId);
  if (sharing.length > 0) {
    throw new FailedPreconditionError(`${wanted.target.nqn} is already staged on this node for ${sharing.map((v) => v.volumeId).join(", ")}, not ${wanted.volumeId}`);
  }
}

/**
 * Recovery, the one step for a volume whose metadata says it is staged here: true when the staging is
 * live as recorded, or was moved onto the namespace's current device as the stale-mount watcher would
 * (a reconnect renumbered the device; or the kernel gave up on the controller, which is connected again
 * exactly as recorded). Metadata left by a NodeUnstage that failed part-way is cleared: kubelet wants
 * the volume again. False when nothing of the staging is left to resume: the caller stages again.
 */
async function recoverExisting(ctx: NodeContext, recorded: StagingMetadata, stagingPath: string, signal: AbortSignal): Promise<boolean> {
  const existing: StagingMetadata = { ...recorded, unstagingSince: undefined };
  const record = ctx.stageRecorder;
  if (await record.time("live_check", () => stagedAndLive(ctx, existing, stagingPath))) {
    if (recorded.unstagingSince !== undefined) await record.time("metadata_write", () => writeStagingMetadata(stagingPath, existing));
    return true;
  }
  return record.time("recover", async () => {
    await reconnectLostController(ctx, existing, signal);
    return (await recoverStaleStaging(ctx, existing, stagingPath, signal)) !== undefined;
  });
}

/** Stages from nothing (or over what an earlier attempt left): connect, find, format if empty, mount, record. */
async function stage(ctx: NodeContext, wanted: StageRequest, existing: StagingMetadata | undefined, signal: AbortSignal, logger: CallContext["logger"]): Promise<void> {
  const { volumeId, stagingPath, target, fsType } = wanted;
  const record = ctx.stageRecorder;
  if (fsType !== null) await requireMountableStagingPath(ctx, stagingPath);
  const connect = await record.time("connect", () =>
    ctx.initiator.connect({ address: target.address, port: target.port, nqn: target.nqn, hostNqn: ctx.host.hostNqn, hostId: ctx.host.hostId, ...wanted.connect }, signal),
  );
  let mountedHere = false;
  try {
    const live = (await ctx.initiator.controllers(target.nqn)).filter((c) => c.state === "live");
    if (live.length === 0) throw new UnavailableError(`no live NVMe controller for ${target.nqn} after connect`);
    const identity = await record.time("device_wait", () => ctx.resolver.waitForNamespace(target.nqn, signal, ctx.namespaceTimeoutMs));
    let filesystemUuid: string | undefined;
    if (fsType !== null) {
      await mkdir(stagingPath, { recursive: true });
      const current = await ctx.mounter.mountsOf(stagingPath);
      if (current.length > 0) {
        // A mount left by an earlier attempt that died before writing metadata is adopted only
        // when it is this very device; anything else is not ours to touch.
        if (current.at(-1)!.majorMinor !== identity.majorMinor) {
          throw new FailedPreconditionError(`${stagingPath} is already a mount of ${current.at(-1)!.source} (${current.at(-1)!.majorMinor}), not ${identity.devicePath}`);
        }
      } else {
        await prepareFilesystem(ctx, identity, fsType, signal);
        await record.time("mount", async () => {
          await ctx.resolver.verify(identity); // identity re-checked just before mounting
          // Set before the run: a mount killed at its deadline (or by the caller giving up) may
          // still have mounted, and the staging path had nothing on it before this call.
          mountedHere = true;
          await ctx.mounter.mount(identity.devicePath, stagingPath, fsType, withXfsNoUuid(fsType, wanted.mountFlags), signal);
        });
      }
      // read back
      const after = await ctx.mounter.mountsOf(stagingPath);
      if (after.at(-1)?.majorMinor !== identity.majorMinor) throw new FailedPreconditionError(`${stagingPath} is not a mount of ${identity.devicePath} after mounting`);
      // What recognises this volume's data when its namespace comes back with another UUID (or none).
      filesystemUuid = await filesystemUuidOf(ctx.probe, identity.devicePath, signal);
    } else {
      await ctx.resolver.verify(identity);
    }

    await record.time("metadata_write", () => writeStagingMetadata(stagingPath, {
      volumeId,
      nqn: target.nqn,
      address: target.address,
      port: target.port,
      hostNqn: ctx.host.hostNqn,
      mode: wanted.mode,
      fsType,
      ...(fsType !== null && { mountFlags: wanted.mountFlags }), // recovery mounts a new device the same way
      device: recordedDevice(identity),
      ...(filesystemUuid !== undefined && { filesystemUuid }),
      stagedAt: new Date().toISOString(),
      ...wanted.connect, // a reconnect after the kernel gave up on the controller asks for the same
      // Staged again over old metadata: its pods' targets stay recorded, so stats still name them stale.
      ...(existing?.publishedTargets !== undefined && { publishedTargets: existing.publishedTargets }),
    }));
  } catch (err) {
    await undo(ctx, { volumeId, nqn: target.nqn, stagingPath, mountedHere, connectedHere: connect.newlyConnected }, logger);
    throw err;
  }
}

/**
 * The filesystem staging path is nothing yet, an empty directory, or a mount (an earlier attempt's,
 * judged after connecting): mounting over a directory with files in it would hide them, and over a
 * file would fail only after the device was connected and formatted.
 */
async function requireMountableStagingPath(ctx: NodeContext, stagingPath: string): Promise<void> {
  const info = await stat(stagingPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (info === undefined || (await ctx.mounter.isMountPoint(stagingPath))) return;
  if (!info.isDirectory()) throw new FailedPreconditionError(`staging_target_path ${stagingPath} exists and is not a directory`);
  if ((await readdir(stagingPath)).length > 0) throw new FailedPreconditionError(`staging_target_path ${stagingPath} is a directory with files in it; not mounting over them`);
}

/** Filesystem probe; formats only a device blkid positively reports as empty. */
async function prepareFilesystem(ctx: NodeContext, identity: DeviceIdentity, fsType: FsType, signal: AbortSignal): Promise<void> {
  const probe = await ctx.stageRecorder.time("probe", () => ctx.probe.probe(identity.devicePath, signal));
  switch (probe.kind) {
    case "empty":
      await ctx.resolver.verify(identity); // identity re-checked just before formatting
      await ctx.stageRecorder.format(fsType, () => ctx.formatter.format(identity.devicePath, fsType, signal));
      return;
    case "filesystem":
      if (probe.type !== fsType) throw new FailedPreconditionError(`${identity.devicePath} holds ${probe.type}, but ${fsType} was requested`);
      return;
    case "partition-table":
      throw new FailedPreconditionError(`${identity.devicePath} holds a ${probe.type} partition table; refusing to format or mount it`);
    case "other":
      throw new FailedPreconditionError(`${identity.devicePath} holds ${probe.detail}; refusing to format or mount it`);
  }
}

/** True when the recorded device still resolves by identity and (filesystem) is mounted at the staging path. */
async function stagedAndLive(ctx: NodeContext, metadata: StagingMetadata, stagingPath: string): Promise<boolean> {
  const identity = await ctx.resolver.resolve(metadata.nqn, metadata.device.nsid).catch(() => undefined);
  if (identity === undefined || identity.majorMinor !== metadata.device.majorMinor) return false;
  if (metadata.mode === "block") return true;
  const mounts = await ctx.mounter.mountsOf(stagingPath);
  return mounts.at(-1)?.majorMinor === metadata.device.majorMinor;
}

async function undo(
  ctx: NodeContext,
  what: { volumeId: string; nqn: string; stagingPath: string; mountedHere: boolean; connectedHere: boolean },
  logger: CallContext["logger"],
): Promise<void> {
  // The call's own signal may be the reason for failing; cleanup gets its own bound.
  const signal = AbortSignal.timeout(60_000);
  try {
    if (what.mountedHere) await ctx.mounter.unmount(what.stagingPath);
    if (what.connectedHere) await disconnectIfUnused(ctx, what.volumeId, what.nqn, signal, logger);
  } catch (err) {
    logger.error("cleanup after a failed stage did not finish", { error: String(err) });
  }
}

/**
 * XFS refuses to mount a filesystem whose UUID is already mounted on the host, and a volume restored
 * from a snapshot or cloned carries its source's UUID: without `nouuid` a clone cannot be staged on a
 * node where its source is staged (KubeVirt clones VM disks exactly so). The check guards against one
 * filesystem seen twice through two paths; here the device was found by its NVMe identity and each
 * volume is staged once, so it protects nothing. Other CSI drivers mount xfs the same way (e.g.
 * alibaba-cloud-csi-driver, aws-ebs-csi-driver).
 */
function withXfsNoUuid(fsType: string, mountFlags: readonly string[]): string[] {
  return fsType === "xfs" && !mountFlags.includes("nouuid") ? [...mountFlags, "nouuid"] : [...mountFlags];
}
