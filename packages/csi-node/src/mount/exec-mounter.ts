import { readFile } from "node:fs/promises";
import { abortableSleep, ExecTimeoutError, FailedPreconditionError, InternalError, InvalidArgumentError, type Exec, type ExecResult } from "@rds-csi/core";
import { canonicalPath } from "./canonical-path.js";
import { assertAbsolutePath, type Mounter, type UnmountOptions } from "./mounter.js";
import { parseMountInfo, type MountInfoEntry } from "./parse-mountinfo.js";

export interface ExecMounterOptions {
  /** Deadline of each mount/umount run. Default 60 s. */
  readonly timeoutMs?: number;
  /** Plain unmount attempts before giving up (or, for a dead device, escalating). Default 3. */
  readonly unmountAttempts?: number;
  /** Pause between unmount attempts. Default 1 s. */
  readonly unmountRetryDelayMs?: number;
  /** Where the mount table is read. Default /proc/self/mountinfo. */
  readonly mountInfoPath?: string;
}

const DEFAULTS = {
  timeoutMs: 60_000,
  unmountAttempts: 3,
  unmountRetryDelayMs: 1_000,
  mountInfoPath: "/proc/self/mountinfo",
};

function checkOptions(options: readonly string[]): void {
  for (const option of options) {
    if (option === "" || option.includes(",") || /\s/.test(option) || option.includes("\0")) {
      throw new InvalidArgumentError(`mount option ${JSON.stringify(option)} is empty or contains a comma or whitespace`);
    }
  }
}

/** mount(8) "RETURN CODES": 32 mount failure. */
const MOUNT_FAILURE = 32;

function failure(what: string, result: ExecResult): InternalError {
  const detail = result.stderr.trim() || result.stdout.trim() || `signal ${result.signal ?? "none"}`;
  return new InternalError(`${what} failed (exit ${result.code ?? "none"}): ${detail}`);
}

/**
 * `Mounter` over util-linux `mount`/`umount`, run through `Exec` with a deadline on every run;
 * the mount table comes from /proc/self/mountinfo through the one parser.
 */
export class ExecMounter implements Mounter {
  private readonly settings: typeof DEFAULTS;

  constructor(
    private readonly exec: Exec,
    options: ExecMounterOptions = {},
  ) {
    this.settings = { ...DEFAULTS, ...options };
    if (!(this.settings.unmountAttempts >= 1)) throw new RangeError("unmountAttempts must be at least 1");
  }

  async mount(source: string, target: string, fsType: string, options: readonly string[], signal?: AbortSignal): Promise<void> {
    assertAbsolutePath("mount source", source);
    assertAbsolutePath("mount target", target);
    if (!/^[a-z0-9_.]+$/.test(fsType)) throw new InvalidArgumentError(`fs type ${JSON.stringify(fsType)} is not valid`);
    checkOptions(options);
    const args = ["-t", fsType];
    if (options.length > 0) args.push("-o", options.join(","));
    args.push(source, target);
    const result = await this.exec.run("mount", args, { timeoutMs: this.settings.timeoutMs, ...(signal !== undefined && { signal }) });
    if (result.code === 0) return;
    // mount(8): exit 32 is "mount failure"; the kernel's refusal of an option reads "bad option" (it
    // names the option only in the kernel log). With options given, that is the caller's to fix.
    if (result.code === MOUNT_FAILURE && options.length > 0 && /bad option/.test(result.stderr)) {
      throw new InvalidArgumentError(`mount of ${source} at ${target} with options ${options.map((o) => JSON.stringify(o)).join(", ")} failed; the kernel refuses one of them for ${fsType} on this device (or the filesystem is damaged): ${result.stderr.trim()}`);
    }
    throw failure(`mount of ${source} at ${target}`, result);
  }

  async bindMount(source: string, target: string, options: { readonly readonly: boolean }): Promise<void> {
    assertAbsolutePath("bind source", source);
    assertAbsolutePath("bind target", target);
    await this.run("mount", ["--bind", source, target], `bind mount of ${source} at ${target}`);
    if (!options.readonly) return;
    // A bind mount takes its flags from the source mount; read-only needs a remount of the bind
    // itself. If that fails, undo the bind rather than leave a writable mount behind.
    try {
      await this.run("mount", ["-o", "remount,bind,ro", target], `read-only remount of ${target}`);
    } catch (err) {
      await this.run("umount", [target], `undo of bind mount at ${target}`).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Escalation: up to `unmountAttempts` plain `umount` runs, each under the deadline, pausing between
   * them (a busy target is often a short-lived reader: a stats call, a scanner). If the target is still
   * mounted after that:
   * - `deviceDead: true` → `umount --lazy`: the mount is detached from the tree now and cleaned up once
   *   the last user lets go. Safe only because a dead device has nothing left to flush, and the caller
   *   is about to disconnect it anyway; on a live device it would hide a mount that still writes.
   * - otherwise → FailedPrecondition naming the target: something still uses it; the CO retries.
   * `--force` is never used: it is meant for unreachable NFS servers and does nothing useful here.
   * The caller's `signal` kills a running `umount` and cuts a pause short: the caller gets its reason
   * at once instead of after every attempt.
   */
  async unmount(target: string, options: UnmountOptions = {}): Promise<void> {
    assertAbsolutePath("unmount target", target);
    const { signal } = options;
    let last = "";
    for (let attempt = 1; attempt <= this.settings.unmountAttempts; attempt++) {
      if (!(await this.isMountPoint(target))) return;
      try {
        const result = await this.exec.run("umount", [target], { timeoutMs: this.settings.timeoutMs, ...(signal !== undefined && { signal }) });
        if (result.code === 0) {
          if (!(await this.isMountPoint(target))) return;
          last = "still mounted after umount (stacked mounts)";
          continue; // another mount was stacked beneath; unmount it too on the next pass
        }
        last = result.stderr.trim() || `exit ${result.code ?? "none"}`;
      } catch (err) {
        // A hung umount (dead device) is retried/escalated like a busy one; anything else is thrown.
        if (!(err instanceof ExecTimeoutError)) throw err;
        last = err.message;
      }
      if (attempt < this.settings.unmountAttempts) await abortableSleep(this.settings.unmountRetryDelayMs, signal ?? new AbortController().signal);
    }
    if (!(await this.isMountPoint(target))) return;
    if (!options.deviceDead) {
      throw new FailedPreconditionError(
        `unmount of ${target} failed after ${this.settings.unmountAttempts} attempts: ${last}`,
      );
    }
    await this.run("umount", ["--lazy", target], `lazy unmount of ${target}`, signal);
  }

  async mountsOf(target: string): Promise<MountInfoEntry[]> {
    assertAbsolutePath("mount point", target);
    const path = await canonicalPath(target);
    return (await this.mountTable()).filter((entry) => entry.mountPoint === path);
  }

  async mountTable(): Promise<MountInfoEntry[]> {
    return parseMountInfo(await readFile(this.settings.mountInfoPath, "utf8"));
  }

  async isMountPoint(target: string): Promise<boolean> {
    return (await this.mountsOf(target)).length > 0;
  }

  private async run(file: string, args: string[], what: string, signal?: AbortSignal): Promise<void> {
    const result = await this.exec.run(file, args, { timeoutMs: this.settings.timeoutMs, ...(signal !== undefined && { signal }) });
    if (result.code !== 0) throw failure(what, result);
  }
}

