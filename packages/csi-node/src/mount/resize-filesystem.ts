import { FailedPreconditionError, InternalError, type Exec, type FsType } from "@rds-csi/core";
import { assertAbsolutePath } from "./mounter.js";

export interface ResizerOptions {
  /** Deadline of one grow run. Default 5 min. */
  readonly timeoutMs?: number;
}

/**
 * Grows a filesystem to fill its (already grown) device, online.
 * - ext4/ext3: `resize2fs <device>`; online when mounted. (Offline resize2fs demands a fresh e2fsck,
 *   so callers grow while mounted, as NodeExpandVolume does.)
 * - xfs: `xfs_growfs <mountPoint>`; xfs grows only while mounted and is addressed by its mount point.
 */
export class FilesystemResizer {
  private readonly timeoutMs: number;

  constructor(
    private readonly exec: Exec,
    options: ResizerOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 300_000;
  }

  async grow(fsType: FsType, device: string, mountPoint: string | undefined): Promise<void> {
    assertAbsolutePath("device", device);
    let file: string;
    let args: string[];
    if (fsType === "xfs") {
      if (mountPoint === undefined) throw new FailedPreconditionError(`xfs on ${device} can only grow while mounted`);
      assertAbsolutePath("mount point", mountPoint);
      file = "xfs_growfs";
      args = [mountPoint];
    } else {
      file = "resize2fs";
      args = [device];
    }
    const result = await this.exec.run(file, args, { timeoutMs: this.timeoutMs });
    if (result.code !== 0) {
      const detail = result.stderr.trim() || result.stdout.trim() || `signal ${result.signal ?? "none"}`;
      throw new InternalError(`${file} on ${device} failed (exit ${result.code ?? "none"}): ${detail}`);
    }
  }
}
