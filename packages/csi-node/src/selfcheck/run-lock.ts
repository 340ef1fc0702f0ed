import { hostname } from "node:os";
import { mkdir, open, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { FailedPreconditionError } from "@rds-csi/core";

interface LockRecord {
  readonly pid: number;
  /** the container's host name: pids only mean something within one pid namespace */
  readonly hostname: string;
  readonly startedAt: number;
}

/**
 * One self-check per host at a time. A run removes this host's scratch leftovers of any age as those
 * of a crashed run, which is only right when no other run on the host is going: the lock sits beside
 * the host identity it is about (`<etc-dir>/nvme`). A lock is taken over when its process is provably
 * gone (same pid namespace, pid not alive) or when it is older than any run can last.
 */
export async function acquireRunLock(path: string, maxRunMs: number, now = Date.now()): Promise<() => Promise<void>> {
  const record: LockRecord = { pid: process.pid, hostname: hostname(), startedAt: now };
  await mkdir(dirname(path), { recursive: true, mode: 0o755 }); // <etc-dir>/nvme, as the host identity makes it
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      try {
        await handle.writeFile(JSON.stringify(record));
      } finally {
        await handle.close();
      }
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = await readLock(path);
    if (holder !== undefined && !isStale(holder, maxRunMs, now)) {
      throw new FailedPreconditionError(
        `another self-check (pid ${holder.pid} on ${holder.hostname}, started ${new Date(holder.startedAt).toISOString()}) is running on this host; wait for it, or remove ${path} if it is gone`,
      );
    }
    if (holder === undefined) throw new FailedPreconditionError(`${path} exists but cannot be read as a self-check lock; remove it if no self-check is running`);
    await rm(path, { force: true });
  }
  throw new FailedPreconditionError(`another self-check took ${path} at the same moment; try again`);
}

async function readLock(path: string): Promise<LockRecord | undefined> {
  try {
    const value = JSON.parse(await readFile(path, "utf8")) as Partial<LockRecord>;
    if (typeof value.pid === "number" && typeof value.hostname === "string" && typeof value.startedAt === "number") return value as LockRecord;
  } catch {
    // unreadable: not ours to judge
  }
  return undefined;
}

function isStale(holder: LockRecord, maxRunMs: number, now: number): boolean {
  if (now - holder.startedAt > maxRunMs) return true;
  if (holder.hostname !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
