import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { unmountAllUnder, mountPointsUnder } from "../system/system-rig.js";

const run = promisify(execFile);

/**
 * What an interrupted demo leaves for someone else to clean: its directory (mounts, loop devices over
 * the simulator's backing files, state) and the processes it started. The demo rewrites this file as it
 * goes; `done` once its own clean-up finished.
 */
export interface DemoLeftovers {
  readonly dir: string;
  readonly pids: readonly number[];
  readonly done: boolean;
}

export async function writeLeftovers(file: string, leftovers: DemoLeftovers): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(leftovers));
  await rm(file, { force: true });
  await writeFile(file, JSON.stringify(leftovers));
  await rm(`${file}.tmp`, { force: true });
}

export async function readLeftovers(file: string): Promise<DemoLeftovers | undefined> {
  for (const candidate of [file, `${file}.tmp`]) {
    try {
      return JSON.parse(await readFile(candidate, "utf8")) as DemoLeftovers;
    } catch {
      // absent or cut short: try the other copy
    }
  }
  return undefined;
}

/**
 * Removes everything `leftovers` names, whatever state it is in: kills the processes, unmounts every
 * mount under the directory (deepest first, lazily when busy), detaches the loop devices whose backing
 * file is under it, deletes it. Returns what it did, for one line of output.
 */
export async function removeLeftovers(leftovers: DemoLeftovers): Promise<string> {
  let killed = 0;
  for (const pid of leftovers.pids) {
    try {
      process.kill(pid, "SIGKILL");
      killed++;
    } catch {
      // already gone
    }
  }
  const mounts = (await mountPointsUnder(leftovers.dir)).length;
  await unmountAllUnder(leftovers.dir);
  const loops = await loopDevicesUnder(leftovers.dir);
  for (const loop of loops) await run("losetup", ["-d", loop]).catch(() => undefined);
  await rm(leftovers.dir, { recursive: true, force: true });
  return `${killed} processes killed, ${mounts} mounts and ${loops.length} loop devices removed, ${leftovers.dir} deleted`;
}

/** Loop devices whose backing file lies under `dir` (`losetup --list`; none where losetup is missing). */
export async function loopDevicesUnder(dir: string): Promise<string[]> {
  const listing = await run("losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"]).then(
    (result) => result.stdout,
    () => "",
  );
  return listing
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(([name, file]) => name !== undefined && file !== undefined && file.startsWith(`${dir}/`))
    .map(([name]) => name!);
}
