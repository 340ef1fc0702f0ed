import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { FailedPreconditionError, InternalError, UnavailableError } from "./errors.js";
import { ExecOutputLimitError, ExecTimeoutError } from "./exec-errors.js";
import { ProcessExec } from "./exec.js";

const exec = new ProcessExec();
// Generous: only the tests about deadlines rely on one passing.
const timeoutMs = 20_000;
let dir: string;

beforeAll(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "rds-csi-exec-")));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the run to reject");
}

/** Our own child has been reaped by Node once the run settled, so the pid must no longer exist. */
function expectReaped(pid: number): void {
  expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
}

/** A grandchild is reaped by init, maybe later, maybe never in a container: a zombie counts as dead. */
async function expectDead(pid: number): Promise<void> {
  for (let i = 0; i < 250; i++) {
    let state: string;
    try {
      state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] ?? "";
    } catch {
      return;
    }
    if (state === "Z") return;
    await sleep(20);
  }
  throw new Error(`process ${pid} is still running`);
}

async function waitForFile(path: string): Promise<string> {
  for (;;) {
    if (existsSync(path)) {
      const text = readFileSync(path, "utf8");
      if (text.endsWith("\n")) return text;
    }
    await sleep(10);
  }
}

describe("ProcessExec", () => {
  it("passes every argument literally, never through a shell", async () => {
    const marker = join(dir, "pwned");
    const args = ["[%s]\n", "a b", `$(touch ${marker}); rm -rf ${dir}`, "`touch " + marker + "`", "*", "; touch " + marker];
    const result = await exec.run("printf", args, { timeoutMs });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(args.slice(1).map((a) => `[${a}]\n`).join(""));
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(dir)).toBe(true);
  });

  it("returns a non-zero exit with its output instead of throwing", async () => {
    const result = await exec.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"], { timeoutMs });
    expect(result).toMatchObject({ code: 3, signal: null, stdout: "out\n", stderr: "err\n" });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("returns the signal that ended the program", async () => {
    const result = await exec.run("/bin/sh", ["-c", "kill -TERM $$"], { timeoutMs });
    expect(result).toMatchObject({ code: null, signal: "SIGTERM" });
  });

  it("writes input to stdin", async () => {
    expect((await exec.run("cat", [], { timeoutMs, input: "hello\nworld" })).stdout).toBe("hello\nworld");
    expect((await exec.run("cat", [], { timeoutMs, input: Buffer.from("bytes") })).stdout).toBe("bytes");
  });

  it("gives a program without input an empty stdin, so a reader does not wait forever", async () => {
    expect(await exec.run("cat", [], { timeoutMs })).toMatchObject({ code: 0, stdout: "" });
  });

  it("survives a program that exits without reading its input", async () => {
    const result = await exec.run("true", [], { timeoutMs, input: Buffer.alloc(4 * 1024 * 1024) });
    expect(result.code).toBe(0);
  });

  it("runs with a minimal environment plus the caller's variables, not the service's", async () => {
    process.env["RDS_CSI_EXEC_TEST_SECRET"] = "s3cret";
    try {
      const script = 'echo "${RDS_CSI_EXEC_TEST_SECRET-unset}|$LC_ALL|$EXTRA"';
      const result = await exec.run("/bin/sh", ["-c", script], { timeoutMs, env: { EXTRA: "given" } });
      expect(result.stdout).toBe("unset|C|given\n");
    } finally {
      delete process.env["RDS_CSI_EXEC_TEST_SECRET"];
    }
  });

  it("runs in the given working directory", async () => {
    expect((await exec.run("/bin/sh", ["-c", "pwd -P"], { timeoutMs, cwd: dir })).stdout).toBe(`${dir}\n`);
  });

  it("kills a program that passes its deadline and reports the timeout with the partial output", async () => {
    const err = await rejectionOf(
      exec.run("/bin/sh", ["-c", "echo $$; echo started >&2; exec sleep 30"], { timeoutMs: 1000 }),
    );
    expect(err).toBeInstanceOf(ExecTimeoutError);
    expect(err).toBeInstanceOf(UnavailableError);
    const timeout = err as ExecTimeoutError;
    expect(timeout.message).toBe("/bin/sh did not exit within 1000 ms and was killed");
    expect(timeout.stderr).toBe("started\n");
    expectReaped(Number(timeout.stdout.trim()));
  });

  it("kills what the program forked too, so a grandchild cannot keep the run open", async () => {
    const err = await rejectionOf(exec.run("/bin/sh", ["-c", "sleep 30 & echo $$ $!; wait"], { timeoutMs: 1000 }));
    expect(err).toBeInstanceOf(ExecTimeoutError);
    const [shell, grandchild] = (err as ExecTimeoutError).stdout.trim().split(" ").map(Number);
    expectReaped(shell ?? NaN);
    await expectDead(grandchild ?? NaN);
  });

  it("settles a grace period after the kill even when the program cannot be reaped (stuck in the kernel)", async () => {
    // Stands in for a process in uninterruptible I/O: outside the killed process group, it keeps the
    // run's stdout open, so "close" never comes on its own.
    const stubborn = new ProcessExec({ killGraceMs: 300 });
    const err = await rejectionOf(stubborn.run("/bin/sh", ["-c", "setsid sleep 30 & echo $!; exec sleep 30"], { timeoutMs: 500 }));
    const timeout = err as ExecTimeoutError;
    expect(timeout).toBeInstanceOf(ExecTimeoutError);
    expect(timeout.unreaped).toBe(true);
    expect(timeout.message).toBe("/bin/sh did not exit within 500 ms and did not end when killed (blocked in the kernel, e.g. on a dead device); left behind");
    const survivor = Number(timeout.stdout.trim());
    process.kill(survivor, "SIGKILL");
    await expectDead(survivor);
  });

  it("a cancelled run also settles after the grace when the program cannot be reaped", async () => {
    const stubborn = new ProcessExec({ killGraceMs: 300 });
    const pidFile = join(dir, "stubborn.pid");
    const controller = new AbortController();
    const run = stubborn.run("/bin/sh", ["-c", `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 30' & exec sleep 30`], { timeoutMs: 60_000, signal: controller.signal });
    const survivor = Number((await waitForFile(pidFile)).trim());
    controller.abort(new Error("caller gone"));
    await expect(run).rejects.toThrow("caller gone");
    process.kill(survivor, "SIGKILL");
    await expectDead(survivor);
  });

  it("kills a program whose stdout passes the cap", async () => {
    const err = await rejectionOf(exec.run("yes", [], { timeoutMs, maxOutputBytes: 64 * 1024 }));
    expect(err).toBeInstanceOf(ExecOutputLimitError);
    expect(err).toBeInstanceOf(InternalError);
    expect((err as Error).message).toBe("yes wrote more than 65536 bytes to stdout and was killed");
  });

  it("caps stderr too, at 1 MiB by default", async () => {
    const err = await rejectionOf(exec.run("/bin/sh", ["-c", "exec yes >&2"], { timeoutMs }));
    expect((err as Error).message).toBe("/bin/sh wrote more than 1048576 bytes to stderr and was killed");
  });

  it("accepts output of exactly the cap", async () => {
    const result = await exec.run("head", ["-c", "100", "/dev/zero"], { timeoutMs, maxOutputBytes: 100 });
    expect(result.stdout).toHaveLength(100);
    await expect(exec.run("head", ["-c", "101", "/dev/zero"], { timeoutMs, maxOutputBytes: 100 })).rejects.toBeInstanceOf(
      ExecOutputLimitError,
    );
  });

  it("reports a missing program as a failed precondition naming it", async () => {
    const err = await rejectionOf(exec.run("rds-csi-no-such-program", [], { timeoutMs }));
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toMatch(/^cannot start rds-csi-no-such-program \(ENOENT\)/);
  });

  it("reports a program that is not executable as a failed precondition naming it", async () => {
    const file = join(dir, "not-executable");
    writeFileSync(file, "#!/bin/sh\n");
    chmodSync(file, 0o644);
    const err = await rejectionOf(exec.run(file, [], { timeoutMs }));
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toContain(`cannot start ${file} (EACCES)`);
  });

  it("kills nothing when an abort races a failed spawn, and reports the spawn failure", async () => {
    const controller = new AbortController();
    const run = exec.run("rds-csi-no-such-program", [], { timeoutMs, signal: controller.signal });
    controller.abort(new Error("cancelled"));
    await expect(run).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it("kills the program when the caller aborts and rejects with the caller's reason", async () => {
    const pidFile = join(dir, "abort.pid");
    const controller = new AbortController();
    const run = exec.run("/bin/sh", ["-c", `echo $$ > ${pidFile}; exec sleep 30`], {
      timeoutMs,
      signal: controller.signal,
    });
    const pid = Number(await waitForFile(pidFile));
    const reason = new DOMException("the client cancelled the call", "AbortError");
    controller.abort(reason);
    expect(await rejectionOf(run)).toBe(reason);
    expectReaped(pid);
  });

  it("does not start the program when the signal is already aborted", async () => {
    const marker = join(dir, "started");
    const reason = new Error("already cancelled");
    const err = await rejectionOf(exec.run("touch", [marker], { timeoutMs, signal: AbortSignal.abort(reason) }));
    expect(err).toBe(reason);
    expect(existsSync(marker)).toBe(false);
  });

  it.each([0, -1, NaN, Infinity, 2 ** 31])("rejects a deadline of %p, which a timer would silently shorten", async (ms) => {
    await expect(exec.run("true", [], { timeoutMs: ms })).rejects.toBeInstanceOf(RangeError);
  });
});
