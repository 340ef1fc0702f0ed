import { rm } from "node:fs/promises";
import { readLeftovers, removeLeftovers } from "./interrupt-cleanup.js";

/**
 * `node demo-guardian.js <demo pid> <leftovers file>`: started detached by the demo (its own process
 * group, so a Ctrl-C does not reach it), it waits for the demo to end. If the demo ended without
 * finishing its clean-up — killed with SIGKILL, or dead half-way through it — the guardian kills the
 * processes the demo started and removes its mounts, loop devices and directory.
 */
async function main(): Promise<void> {
  const [pidText, file] = process.argv.slice(2);
  const demoPid = Number(pidText);
  if (!Number.isInteger(demoPid) || demoPid <= 0 || file === undefined) {
    process.stderr.write("usage: demo-guardian <demo pid> <leftovers file>\n");
    process.exit(2);
  }
  while (alive(demoPid)) await new Promise((resolve) => setTimeout(resolve, 250));
  const leftovers = await readLeftovers(file);
  if (leftovers !== undefined && !leftovers.done) {
    const summary = await removeLeftovers(leftovers);
    process.stderr.write(`\nrds-csi demo: the demo ended before its clean-up finished; cleaned up after it: ${summary}\n`);
  }
  await rm(file, { force: true });
  await rm(`${file}.tmp`, { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

await main();
