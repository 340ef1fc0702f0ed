import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { FailedPreconditionError } from "./errors.js";
import { ExecOutputLimitError, ExecTimeoutError } from "./exec-errors.js";

export interface ExecOptions {
  /** Every run has a deadline; when it passes the program is killed and `ExecTimeoutError` is thrown. */
  readonly timeoutMs: number;
  /** Caller cancellation: the program is killed and the run rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Cap per stream (stdout, stderr); exceeding it kills the program. Default 1 MiB. */
  readonly maxOutputBytes?: number;
  /** Written to stdin, which is then closed; without it stdin is closed at once, so a reader sees EOF. */
  readonly input?: string | Buffer;
  /** Merged over the minimal environment described at `baseEnv`. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export interface ExecResult {
  /** Exit code, or null when the program was ended by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
}

/**
 * The one way services run programs. A non-zero exit is a result, not an error: only the caller
 * knows whether `blkid` exiting 2 means "empty device" or a failure, so it classifies.
 */
export interface Exec {
  run(file: string, args: readonly string[], options: ExecOptions): Promise<ExecResult>;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

/** setTimeout silently turns anything above this (or Infinity) into 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A minimal environment rather than process.env: the service's environment may hold credentials
 * (SSH passwords for the RDS) that no child program needs, and `LC_ALL=C` keeps tool output and
 * messages untranslated, because callers parse them.
 */
function baseEnv(): Record<string, string | undefined> {
  return { PATH: process.env["PATH"], LC_ALL: "C" };
}

/** How long a killed program's exit is awaited before the run settles without it. */
export const DEFAULT_KILL_GRACE_MS = 5_000;

/** Runs programs with child_process.spawn: argv only, never through a shell. */
export class ProcessExec implements Exec {
  /**
   * `killGraceMs`: a program blocked in the kernel (uninterruptible I/O on a dead NVMe device) does
   * not die of SIGKILL until the I/O ends, which can be never; so once the deadline (or the caller)
   * has killed it, the run waits this long for its exit and then settles anyway, leaving the process
   * to the kernel. The deadline is a promise to the caller, not to the program.
   */
  constructor(private readonly settings: { readonly killGraceMs?: number } = {}) {}

  run(file: string, args: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const { timeoutMs, signal } = options;
    if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
      const message = `exec of ${file}: timeoutMs must be in (0, ${MAX_TIMER_MS}], got ${timeoutMs}`;
      return Promise.reject(new RangeError(message));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;

    return new Promise((resolve, reject) => {
      const started = performance.now();
      const child = spawn(file, args, {
        shell: false,
        // Its own process group, so a kill also reaches anything it forked; a grandchild holding
        // stdout open would otherwise keep the run from ever settling.
        detached: true,
        stdio: ["pipe", "pipe", "pipe"],
        env: { ...baseEnv(), ...options.env },
        cwd: options.cwd,
      });

      // The first reason to stop the program wins; it is turned into the rejection once stdio closes,
      // or once the kill grace has passed without that.
      let stopReason: ((unreaped: boolean) => unknown) | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      const stop = (reason: (unreaped: boolean) => unknown): void => {
        if (stopReason) return;
        stopReason = reason;
        killGroup(child);
        graceTimer = setTimeout(abandon, this.settings.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
      };
      const abandon = (): void => {
        clearTimeout(timer);
        child.removeAllListeners("close");
        child.stdout.destroy();
        child.stderr.destroy();
        child.unref();
        signal?.removeEventListener("abort", onAbort);
        reject(stopReason!(true));
      };
      let spawnError: NodeJS.ErrnoException | undefined;

      const stdout = collect(child.stdout, maxOutputBytes, () =>
        stop(() => new ExecOutputLimitError(file, "stdout", maxOutputBytes)),
      );
      const stderr = collect(child.stderr, maxOutputBytes, () =>
        stop(() => new ExecOutputLimitError(file, "stderr", maxOutputBytes)),
      );
      const timer = setTimeout(() => stop((unreaped) => new ExecTimeoutError(file, timeoutMs, stdout(), stderr(), unreaped)), timeoutMs);
      const onAbort = (): void => stop(() => signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });

      // A program that exits without reading its input makes the write fail with EPIPE; its exit
      // status is what matters, and an unhandled stream error would crash the service.
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);

      // Only spawn failures arrive here (we never use child.kill or IPC); "close" still follows.
      child.on("error", (err: NodeJS.ErrnoException) => {
        spawnError = err;
      });
      // "close" comes after the exit and after every stdio stream closed: nothing is left running.
      child.on("close", (code, exitSignal) => {
        clearTimeout(timer);
        clearTimeout(graceTimer);
        signal?.removeEventListener("abort", onAbort);
        if (spawnError) {
          const message = `cannot start ${file} (${spawnError.code}): is it installed and executable on this node?`;
          reject(new FailedPreconditionError(message, { cause: spawnError }));
        } else if (stopReason) {
          reject(stopReason(false));
        } else {
          const durationMs = performance.now() - started;
          resolve({ code, signal: exitSignal, stdout: stdout(), stderr: stderr(), durationMs });
        }
      });
    });
  }
}

function killGroup(child: ChildProcess): void {
  // No pid: the spawn failed and there is nothing to kill.
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // ESRCH: the group already exited between its last output and this kill; "close" follows anyway.
  }
}

/** Buffers a stream up to `cap` bytes; past that it calls `onOverflow` and keeps draining, discarding. */
function collect(stream: Readable, cap: number, onOverflow: () => void): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on("data", (chunk: Buffer) => {
    const room = cap - size;
    if (chunk.length > room) onOverflow();
    const kept = chunk.subarray(0, Math.max(room, 0));
    chunks.push(kept);
    size += kept.length;
  });
  return () => Buffer.concat(chunks).toString("utf8");
}
