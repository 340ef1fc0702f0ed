import { InvalidArgumentError } from "@rds-csi/core";
import type { MountInfoEntry } from "./parse-mountinfo.js";

/**
 * The node's one door to the kernel's mount table. The driver receives a `Mounter` rather than
 * calling `mount(8)` itself, so the node service runs under tests with `FakeMounter` and nothing
 * outside this directory knows how mounting is done (STYLE §2, after aws-ebs-csi-driver's
 * `pkg/mounter`).
 *
 * Paths are absolute; a relative path or one starting with "-" is refused, so no argument can ever
 * be read as an option by the programs behind this interface.
 */
export interface Mounter {
  /**
   * Mounts `source` (a block device) at `target` with `fsType` and `options` (no commas inside one).
   * `signal` ends a mount still running when the caller gives up; the mount may have happened anyway.
   */
  mount(source: string, target: string, fsType: string, options: readonly string[], signal?: AbortSignal): Promise<void>;
  /** Bind-mounts `source` (a directory or a device node) at `target`; read-only when asked. */
  bindMount(source: string, target: string, options: { readonly readonly: boolean }): Promise<void>;
  /**
   * Unmounts the top mount at `target`; a target that is not a mount point is already done (idempotent).
   * A busy target is retried a bounded number of times; only when `deviceDead` is set (the caller has
   * established that the backing device is gone, so no data can still be flushed) does it escalate to
   * a lazy unmount. Otherwise a still-busy target is an error.
   * `signal` ends a run still going and the pauses between attempts when the caller gives up; the run
   * rejects with its reason, and the target may or may not have been unmounted by then.
   */
  unmount(target: string, options?: UnmountOptions): Promise<void>;
  /** Every mount stacked at `target`, oldest first (empty when none). */
  mountsOf(target: string): Promise<MountInfoEntry[]>;
  /** The whole table, for decisions about every mount at once (what still uses a device, what is orphaned). */
  mountTable(): Promise<MountInfoEntry[]>;
  isMountPoint(target: string): Promise<boolean>;
}

export interface UnmountOptions {
  readonly deviceDead?: boolean;
  readonly signal?: AbortSignal;
}

/** Refuses a path that is not absolute or could be taken for an option. */
export function assertAbsolutePath(what: string, path: string): void {
  if (typeof path !== "string" || !path.startsWith("/") || path.includes("\0")) {
    throw new InvalidArgumentError(`${what} must be an absolute path, got ${JSON.stringify(path)}`);
  }
}
