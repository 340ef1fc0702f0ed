import { dirname } from "node:path";
import { csi, FailedPreconditionError, InternalError, InvalidArgumentError, NotFoundError, UnavailableError, type CallContext, type Exec, abortableSleep, Backoff } from "@rds-csi/core";
import type { FilesystemResizer } from "./mount/resize-filesystem.js";
import type { NodeContext } from "./node-context.js";
import { locateStagedVolume } from "./locate-staged-volume.js";
import { requireNodeCapability } from "./node-get-capabilities.js";
import { requireField, requireKubeletPath } from "./node-validation.js";
import type { DeviceIdentity } from "./nvme/device-identity.js";

/** What NodeExpandVolume needs beyond the NodeContext. */
export interface ExpandDependencies {
  readonly exec: Exec;
  /** the nvme-cli executable (`nvme`, or the fake fabric's shim in tests) */
  readonly nvmeCli: string;
  readonly resizer: FilesystemResizer;
  /** Bound on waiting for sysfs to show the new size. Default 30 s. */
  readonly sizeTimeoutMs?: number;
  /** Deadline of one `nvme ns-rescan`. Default 30 s. */
  readonly rescanTimeoutMs?: number;
}

const NQN_CONTROLLER = /^nvme\d+$/;

/**
 * NodeExpandVolume: rescan the namespace on the live controller(s), wait (bounded) until sysfs shows
 * at least the required size, verify the device is still the staged namespace, grow ext4/xfs online
 * (xfs through the staging mount point), and return the size sysfs reports. Block volumes only get
 * the rescan and the size. Repeating it is harmless: rescan and grow are no-ops once done.
 */
export async function nodeExpandVolume(ctx: NodeContext, deps: ExpandDependencies, request: csi.NodeExpandVolumeRequest, call: CallContext): Promise<csi.NodeExpandVolumeResponse> {
  requireNodeCapability(csi.NodeServiceCapability_RPC_Type.EXPAND_VOLUME, "NodeExpandVolume");
  const volumeId = requireField("volume_id", request.volumeId);
  const volumePath = await requireKubeletPath(ctx.kubeletDir, "volume_path", request.volumePath);
  const stagingTargetPath = request.stagingTargetPath === "" ? "" : await requireKubeletPath(ctx.kubeletDir, "staging_target_path", request.stagingTargetPath);
  const required = requiredBytesOf(request.capacityRange);
  const logger = call.logger.child({ volume_id: volumeId });

  return ctx.locks.run(volumeId, call.signal, async (signal) => {
    const located = await locateStagedVolume(ctx, volumeId, volumePath, stagingTargetPath, signal);
    if (located === undefined) throw new NotFoundError(`volume ${volumeId} is not staged on this node`);
    const { metadata, stagingPath } = located;
    if (request.volumeCapability?.block !== undefined && metadata.mode !== "block") {
      throw new InvalidArgumentError(`volume ${volumeId} is staged as ${metadata.mode}, not block`);
    }

    const live = (await ctx.initiator.controllers(metadata.nqn)).filter((c) => c.state === "live");
    if (live.length === 0) throw new UnavailableError(`no live NVMe controller for ${metadata.nqn}; cannot rescan`);

    const initial = await ctx.resolver.resolve(metadata.nqn, metadata.device.nsid);
    if (initial === undefined) throw new UnavailableError(`namespace ${metadata.device.nsid} of ${metadata.nqn} is not present`);
    checkStaged(initial, metadata.device);
    const devDir = dirname(initial.devicePath);

    const rescan = async (): Promise<void> => {
      for (const ctrl of live) {
        if (!NQN_CONTROLLER.test(ctrl.name)) throw new InternalError(`unexpected controller name ${JSON.stringify(ctrl.name)}`);
        const result = await deps.exec.run(deps.nvmeCli, ["ns-rescan", `${devDir}/${ctrl.name}`], { timeoutMs: deps.rescanTimeoutMs ?? 30_000, signal });
        if (result.code !== 0) throw new UnavailableError(`nvme ns-rescan ${devDir}/${ctrl.name} failed (exit ${result.code ?? result.signal}): ${result.stderr.trim()}`);
      }
    };

    // rescan, then wait (bounded) for the size; rescan again now and then in case the RDS lagged.
    const timeoutMs = deps.sizeTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let identity = initial;
    let lastRescan = 0;
    const poll = new Backoff({ initialDelay: 20, maxDelay: 500, jitter: "none" });
    for (;;) {
      if (Date.now() - lastRescan >= 2_000) {
        await rescan();
        lastRescan = Date.now();
      }
      const now = await ctx.resolver.resolve(metadata.nqn, metadata.device.nsid);
      if (now === undefined) throw new UnavailableError(`namespace ${metadata.device.nsid} of ${metadata.nqn} vanished during expansion`);
      identity = now;
      if (BigInt(identity.sizeBytes) >= required) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new UnavailableError(`${identity.devicePath} is ${identity.sizeBytes} bytes after rescan, ${required} required; not grown within ${timeoutMs} ms`);
      await abortableSleep(Math.min(poll.next(), left), signal);
    }
    checkStaged(identity, metadata.device);
    identity = await ctx.resolver.verify(identity);

    if (metadata.mode === "filesystem") {
      const mount = (await ctx.mounter.mountsOf(stagingPath)).at(-1);
      if (mount?.majorMinor !== identity.majorMinor) {
        throw new FailedPreconditionError(`staging path ${stagingPath} is not mounted from ${identity.devicePath} (${identity.majorMinor}); cannot grow the filesystem online`);
      }
      await ctx.resolver.verify(identity); // identity re-checked just before touching the device
      await deps.resizer.grow(metadata.fsType!, identity.devicePath, stagingPath);
      logger.info("filesystem grown", { device: identity.devicePath, fs_type: metadata.fsType, size_bytes: identity.sizeBytes });
    }
    return { capacityBytes: BigInt(identity.sizeBytes) };
  });
}

function requiredBytesOf(range: csi.CapacityRange | undefined): bigint {
  if (range === undefined) return 0n;
  const { requiredBytes, limitBytes } = range;
  if (requiredBytes < 0n || limitBytes < 0n) throw new InvalidArgumentError("capacity_range bytes must not be negative");
  if (requiredBytes === 0n && limitBytes === 0n) throw new InvalidArgumentError("capacity_range needs required_bytes or limit_bytes");
  if (limitBytes > 0n && requiredBytes > limitBytes) throw new InvalidArgumentError(`capacity_range required_bytes ${requiredBytes} exceeds limit_bytes ${limitBytes}`);
  return requiredBytes;
}

/** The device is still the staged namespace on the staged device number (else recovery must run first). */
function checkStaged(identity: DeviceIdentity, staged: { majorMinor: string }): void {
  if (identity.majorMinor !== staged.majorMinor) {
    throw new FailedPreconditionError(`${identity.devicePath} is now ${identity.majorMinor}, staged was ${staged.majorMinor}: the staging is stale and must be recovered before expanding`);
  }
}
