import { randomInt } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** A tool that hangs on demand, and how to find what it left running. */
export interface HangingTool {
  /** The directory holding the wrapper: put it first on PATH, or run `path` directly. */
  readonly dir: string;
  readonly path: string;
  /** Makes later runs hang (those that match `when`); a run already hanging is not affected by `release`. */
  hang(): Promise<void>;
  /** Later runs behave like the real program again. */
  release(): Promise<void>;
  /** Processes still running from this wrapper: the shell or its `sleep` (argv carries the marker). */
  leftovers(): Promise<number[]>;
  /** Ends a hanging `sleep`, so the run it belongs to goes on (to the real program, for `before`). */
  wake(): Promise<void>;
}

export interface HangOptions {
  /** Hang before running the real program (nothing done) or after it (done, but the caller never hears). */
  readonly stage: "before" | "after";
  /** A shell test on "$@"; only runs for which it holds hang. Default: every run. */
  readonly when?: string;
}

/**
 * Writes `<parent>/hang-<marker>/<program>`: a wrapper of `real` that, while hanging is switched on,
 * sleeps an hour in a child process, like a tool stuck on a dead device. The sleep is a child, not an
 * `exec`, so a deadline must kill the whole process group to leave nothing behind; the marker (a random
 * number) is in both the wrapper's path and the sleep's argv, so `leftovers` finds either.
 */
export async function writeHangingTool(parent: string, program: string, real: string, options: HangOptions): Promise<HangingTool> {
  const marker = String(randomInt(1e9, 1e10));
  const dir = join(parent, `hang-${marker}`);
  await mkdir(dir, { recursive: true });
  const path = join(dir, program);
  const flag = join(dir, "hanging");
  const hang = `if [ -e "${flag}" ] && ${options.when ?? "true"}; then sleep 3600.${marker}; fi`;
  const body = options.stage === "before"
    ? `${hang}\nexec "${real}" "$@"\n`
    : `"${real}" "$@"\nrc=$?\n${hang}\nexit $rc\n`;
  await writeFile(path, `#!/bin/sh\n${body}`);
  await chmod(path, 0o755);

  const leftovers = async (): Promise<number[]> => {
    const found: number[] = [];
    for (const entry of await readdir("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const argv = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
      if (argv.includes(marker)) found.push(Number(entry));
    }
    return found;
  };
  return {
    dir,
    path,
    hang: () => writeFile(flag, ""),
    release: () => rm(flag, { force: true }),
    leftovers,
    wake: async () => {
      for (const pid of await leftovers()) {
        const argv = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
        if (argv.startsWith("sleep\0")) process.kill(pid, "SIGTERM");
      }
    },
  };
}

/** Resolves once `tool` has a run hanging (its sleep is running); polls /proc, bounded by `timeoutMs`. */
export async function untilHanging(tool: HangingTool, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    for (const pid of await tool.leftovers()) {
      const argv = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      if (argv.startsWith("sleep\0")) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${tool.path} never started hanging within ${timeoutMs} ms`);
}
