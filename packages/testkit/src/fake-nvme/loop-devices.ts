import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";

const TOOL_TIMEOUT_MS = 30_000;

/** Runs a host tool with argv (no shell) and a deadline; rejects with its stderr on failure. */
export async function runTool(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: TOOL_TIMEOUT_MS, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${file} ${args.join(" ")} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

export interface LoopDevice {
  /** `/dev/loopN` */
  readonly path: string;
  readonly major: number;
  readonly minor: number;
  /** 512-byte sectors, from the kernel's `/sys/class/block/loopN/size` */
  readonly sectors: number;
}

/** Attaches `file` to the first free loop device (the real kernel's block layer does the I/O). */
export async function attachLoop(file: string): Promise<LoopDevice> {
  const path = (await runTool("losetup", ["--find", "--show", file])).trim();
  return describeLoop(path);
}

/**
 * Detaches a loop device. Like a deleted NVMe controller, a device still mounted or open is not
 * refused: the kernel marks it autoclear and it goes away when its last user closes it.
 */
export async function detachLoop(path: string): Promise<void> {
  try {
    await runTool("losetup", ["--detach", path]);
  } catch (err) {
    // Already gone (detached by an earlier, interrupted teardown): nothing to do.
    if (!/No such device|not a block device|No such file/i.test((err as Error).message)) throw err;
  }
}

/** Makes the loop device pick up a grown backing file (`losetup --set-capacity`); returns the new view. */
export async function refreshLoop(path: string): Promise<LoopDevice> {
  await runTool("losetup", ["--set-capacity", path]);
  return describeLoop(path);
}

export async function describeLoop(path: string): Promise<LoopDevice> {
  const name = basename(path);
  const dev = (await readFile(`/sys/class/block/${name}/dev`, "utf8")).trim();
  const [major, minor] = dev.split(":").map(Number);
  const sectors = Number((await readFile(`/sys/class/block/${name}/size`, "utf8")).trim());
  if (!Number.isInteger(major) || !Number.isInteger(minor)) throw new Error(`unexpected ${name}/dev: ${dev}`);
  return { path, major: major!, minor: minor!, sectors };
}

/** The loop devices attached to `file` now (`losetup -j`), e.g. to prove a test left none behind. */
export async function loopsOf(file: string): Promise<string[]> {
  const out = await runTool("losetup", ["--associated", file, "--noheadings", "--output", "NAME"]);
  return out
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/**
 * The loop devices still over `file` once the kernel had up to `graceMs` to let go: a filesystem
 * unmounted lazily releases its device asynchronously (fs/namespace.c defers the last mntput), and only
 * then is an autoclear loop device detached. For clean-up checks after a test.
 */
export async function loopsLeftOver(file: string, graceMs = 2_000): Promise<string[]> {
  let left = await loopsOf(file);
  for (const deadline = Date.now() + graceMs; left.length > 0 && Date.now() < deadline; left = await loopsOf(file)) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return left;
}

export async function makeBlockNode(path: string, major: number, minor: number): Promise<void> {
  await runTool("mknod", ["-m", "0660", path, "b", String(major), String(minor)]);
}
