import { FailedPreconditionError, InternalError, type Exec, type FsType } from "@rds-csi/core";
import { assertAbsolutePath } from "./mounter.js";
import type { FilesystemProbe } from "./probe-filesystem.js";

export interface FormatterOptions {
  /** Deadline of one mkfs run. Default 5 min (lazy inode init keeps even large volumes fast). */
  readonly timeoutMs?: number;
}

/**
 * mkfs arguments, without force flags on purpose:
 * - ext4/ext3: no `-F`. mke2fs needs `-F` only for a target that is not a block device or for
 *   parameters that "do not make sense" (`-FF` for a mounted one); a whole block device without
 *   partitions is formatted without it (checked: mke2fs 1.47 on a whole loop device exits 0).
 *   Note mke2fs does *not* refuse an existing signature when stdin is not a terminal — it silently
 *   overwrites — so the blkid probe just before is the only guard for ext*.
 * - xfs: no `-f`, so mkfs.xfs refuses a device with any existing signature: a second guard.
 * `-E nodiscard` / `-K`: skip discarding every block. Over NVMe/TCP on a multi-terabyte volume a
 * full discard can outlast any sane deadline, and a freshly created RDS volume has nothing to discard.
 */
export function mkfsCommand(fsType: FsType, device: string): { file: string; args: string[] } {
  switch (fsType) {
    case "ext4":
      return { file: "mkfs.ext4", args: ["-E", "nodiscard", device] };
    case "ext3":
      return { file: "mkfs.ext3", args: ["-E", "nodiscard", device] };
    case "xfs":
      return { file: "mkfs.xfs", args: ["-K", device] };
  }
}

/** Formats a device, but only one blkid positively reports as empty (ARCHITECTURE invariant 7). */
export class Formatter {
  private readonly timeoutMs: number;

  constructor(
    private readonly exec: Exec,
    private readonly probe: FilesystemProbe,
    options: FormatterOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 300_000;
  }

  /**
   * Probes right before formatting, even if the caller just did: the guard lives beside the
   * destructive command so no caller can skip it. A non-empty device is FailedPrecondition naming
   * what is on it; a probe error propagates (never formats).
   */
  async format(device: string, fsType: FsType, signal?: AbortSignal): Promise<void> {
    assertAbsolutePath("device", device);
    const found = await this.probe.probe(device, signal);
    if (found.kind !== "empty") {
      const what = found.kind === "filesystem" ? `a ${found.type} filesystem`
        : found.kind === "partition-table" ? `a ${found.type} partition table`
        : found.detail;
      throw new FailedPreconditionError(`refusing to format ${device}: it holds ${what}`);
    }
    const { file, args } = mkfsCommand(fsType, device);
    const result = await this.exec.run(file, args, { timeoutMs: this.timeoutMs, ...(signal !== undefined && { signal }) });
    if (result.code !== 0) {
      const detail = result.stderr.trim() || result.stdout.trim() || `signal ${result.signal ?? "none"}`;
      throw new InternalError(`${file} on ${device} failed (exit ${result.code ?? "none"}): ${detail}`);
    }
  }
}
