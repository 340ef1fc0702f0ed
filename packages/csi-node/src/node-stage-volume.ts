import { mkdir } from "node:fs/promises";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  isFsType,
  NODE_PARAMETER_DEFAULTS,
  parsePublishContext,
  UnavailableError,
  VOLUME_CONTEXT_KEYS,
  DEFAULT_FS_TYPE,
  type CallContext,
  type csi,
  type FsType,
} from "@rds-csi/core";
import { disconnectIfUnused } from "./disconnect-if-unused.js";
import { filesystemUuidOf } from "./mount/probe-filesystem.js";
import type { NodeContext } from "./node-context.js";
import { accessTypeOf, requireAbsolutePath, requireField } from "./node-validation.js";
import { recordedDevice, type DeviceIdentity } from "./nvme/device-identity.js";
import { readStagingMetadata, writeStagingMetadata, type StagingMetadata } from "./staging/staging-metadata.js";
import { recoverStaleStaging } from "./stale-mount-recovery.js";

interface ConnectTuning {
  readonly ctrlLossTmo: number;
  readonly reconnectDelay: number;
  readonly keepAliveTmo: number;
}

function intFromContext(context: Readonly<Record<string, string>>, key: string, fallback: number, min: number, max: number): number {
  const raw = context[key];
  if (raw === undefined || raw === "") return fallback;
  const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= min && value <= max)) throw new InvalidArgumentError(`volume_context "${key}" must be an integer from ${min} to ${max}, got "${raw}"`);
  return value;
}

function tuningOf(context: Readonly<Record<string, string>>): ConnectTuning {
  const k = VOLUME_CONTEXT_KEYS;
  const d = NODE_PARAMETER_DEFAULTS;
  return {
    ctrlLossTmo: intFromContext(context, k.ctrlLossTmo, d.ctrlLossTmo, -1, 86_400),
    reconnectDelay: intFromContext(context, k.reconnectDelay, d.reconnectDelay, 1, 3_600),
    keepAliveTmo: intFromContext(context, k.keepAliveTmo, d.keepAliveTmo, 0, 3_600),
  };
}

/** Capability fs type, else the volume context's, else the default; must be one we support. */
function fsTypeOf(capabilityFsType: string, context: Readonly<Record<string, string>>): FsType {
  const fromContext = context[VOLUME_CONTEXT_KEYS.fsType] ?? "";
  if (capabilityFsType !== "" && fromContext !== "" && capabilityFsType !== fromContext) {
    throw new InvalidArgumentError(`volume_capability fs_type "${capabilityFsType}" contradicts volume_context fsType "${fromContext}"`);
  }
  const fsType = capabilityFsType || fromContext || DEFAULT_FS_TYPE;
  if (!isFsType(fsType)) throw new InvalidArgumentError(`fs type "${fsType}" is not supported`);
  return fsType;
}

/**
 * NodeStageVolume: validate → lock → look up metadata → idempotent answer → connect, wait, resolve,
 * (probe, format only when empty, mount) → read back → write metadata. On failure, undoes only what
 * this call did: its mount, and its connect when nothing else uses the controller.
 */
export async function nodeStageVolume(ctx: NodeContext, request: csi.NodeStageVolumeRequest, call: CallContext): Promise<csi.NodeStageVolumeResponse> {
  // validate (no side effects)
  const volumeId = requireField("volume_id", request.volumeId);
  const stagingPath = requireAbsolutePath("staging_target_path", request.stagingTargetPath);
  const access = accessTypeOf(request.volumeCapability);
  const target = parsePublishContext(request.publishContext);
  const tuning = tuningOf(request.volumeContext);
  const mode: StagingMetadata["mode"] = access.kind === "block" ? "block" : "filesystem";
  const fsType = access.kind === "mount" ? fsTypeOf(access.fsType, request.volumeContext) : null;
  const mountFlags = access.kind === "mount" ? access.mountFlags : [];
  const logger = call.logger.child({ volume_id: volumeId });
  const record = ctx.stageRecorder;

  return ctx.locks.run(volumeId, call.signal, async (signal) => {
    // look up
    const recorded = await record.time("metadata_read", () => readStagingMetadata(stagingPath, volumeId));
    // Left by a NodeUnstage that failed part-way: kubelet wants the volume again, so it is staged as
    // usual, and whatever metadata this call writes (recovery's included) no longer says "unstaging".
    const unstaging = recorded?.unstagingSince !== undefined;
    const existing = unstaging ? { ...recorded!, unstagingSince: undefined } : recorded;
    if (existing !== undefined) {
      if (existing.nqn !== target.nqn || existing.mode !== mode || existing.fsType !== fsType) {
        // CSI: staged at this path, but incompatible with the request → ALREADY_EXISTS.
        throw new AlreadyExistsError(
          `volume ${volumeId} is staged at ${stagingPath} as ${existing.mode}/${existing.fsType ?? "-"} of ${existing.nqn}, not ${mode}/${fsType ?? "-"} of ${target.nqn}`,
        );
      }
      if (await record.time("live_check", () => stagedAndLive(ctx, existing, stagingPath))) {
        if (unstaging) await record.time("metadata_write", () => writeStagingMetadata(stagingPath, existing));
        ctx.staged.add(volumeId, existing.nqn);
        return {};
      }
      // Same namespace on another device (a reconnect renumbered it): move the staging mount over.
      if ((await record.time("recover", () => recoverStaleStaging(ctx, existing, stagingPath, signal))) !== undefined) {
        logger.info("stale staging mount recovered onto the namespace's current device");
        ctx.staged.add(volumeId, existing.nqn);
        return {};
      }
      logger.info("staging metadata found but the staging is not live; staging again");
    }
    // One namespace, one volume: a publish context naming another staged volume's NQN must not
    // probe, format or mount that volume's device (a block volume reads as empty to blkid).
    const sharing = ctx.staged.list().filter((v) => v.nqn === target.nqn && v.volumeId !== volumeId);
    if (sharing.length > 0) {
      throw new FailedPreconditionError(`${target.nqn} is already staged on this node for ${sharing.map((v) => v.volumeId).join(", ")}, not ${volumeId}`);
    }

    // act
    const connect = await record.time("connect", () =>
      ctx.initiator.connect(
        { address: target.address, port: target.port, nqn: target.nqn, hostNqn: ctx.host.hostNqn, hostId: ctx.host.hostId, ...tuning },
        signal,
      ),
    );
    let mountedHere = false;
    try {
      const live = (await ctx.initiator.controllers(target.nqn)).filter((c) => c.state === "live");
      if (live.length === 0) throw new UnavailableError(`no live NVMe controller for ${target.nqn} after connect`);
      const identity = await record.time("device_wait", () => ctx.resolver.waitForNamespace(target.nqn, signal, ctx.namespaceTimeoutMs));
      // The kernel had given up on the controller (ctrl_loss_tmo) and this call connected it again:
      // the staging mount still sits on the dead device, so move it, as the watcher would.
      if (existing !== undefined && (await record.time("recover", () => recoverStaleStaging(ctx, existing, stagingPath, signal))) !== undefined) {
        logger.info("staging mount recovered onto the namespace after reconnecting a lost controller");
        ctx.staged.add(volumeId, existing.nqn);
        return {};
      }

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
            await ctx.mounter.mount(identity.devicePath, stagingPath, fsType, mountFlags, signal);
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
        mode,
        fsType,
        ...(fsType !== null && { mountFlags }), // recovery mounts a new device the same way
        device: recordedDevice(identity),
        ...(filesystemUuid !== undefined && { filesystemUuid }),
        stagedAt: new Date().toISOString(),
        ...tuning, // a reconnect after the kernel gave up on the controller asks for the same
        // Staged again over old metadata: its pods' targets stay recorded, so stats still name them stale.
        ...(existing?.publishedTargets !== undefined && { publishedTargets: existing.publishedTargets }),
      }));
      ctx.staged.add(volumeId, target.nqn);
      return {};
    } catch (err) {
      await undo(ctx, { volumeId, nqn: target.nqn, stagingPath, mountedHere, connectedHere: connect.newlyConnected }, logger);
      throw err;
    }
  });
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
