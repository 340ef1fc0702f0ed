import { InternalError, UnavailableError } from "./errors.js";

// Messages name the program but never its arguments: argv can carry secrets (e.g. `nvme connect
// --dhchap-secret`) and these messages reach the CSI caller.

/**
 * The program did not exit before its deadline and was killed. Unavailable, because a hung tool
 * (a stuck NVMe controller, an unresponsive mount) is usually a transient state worth retrying.
 * Carries what the program wrote before it was killed, for the log.
 */
export class ExecTimeoutError extends UnavailableError {
  constructor(
    readonly file: string,
    readonly timeoutMs: number,
    readonly stdout: string,
    readonly stderr: string,
    /** Even SIGKILL did not end it within the grace: blocked in the kernel, e.g. on a dead device. */
    readonly unreaped = false,
  ) {
    super(
      unreaped
        ? `${file} did not exit within ${timeoutMs} ms and did not end when killed (blocked in the kernel, e.g. on a dead device); left behind`
        : `${file} did not exit within ${timeoutMs} ms and was killed`,
    );
  }
}

/**
 * The program wrote more than the cap to one stream and was killed. Internal, because no tool we
 * run legitimately prints that much: it is runaway output, and buffering it would only move the
 * failure to an out-of-memory kill of the whole service.
 */
export class ExecOutputLimitError extends InternalError {
  constructor(
    readonly file: string,
    readonly stream: "stdout" | "stderr",
    readonly maxOutputBytes: number,
  ) {
    super(`${file} wrote more than ${maxOutputBytes} bytes to ${stream} and was killed`);
  }
}
