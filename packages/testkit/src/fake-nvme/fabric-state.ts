import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** A connected subsystem: one namespace (nsid 1) backed by a loop device over the export's file. */
export interface SubsystemRecord {
  /** S in `nvme-subsysS` and in the head disk `nvmeSn1` */
  readonly instance: number;
  readonly nqn: string;
  readonly nsid: number;
  /** stable per export, like a target's namespace UUID: derived from the NQN and the backing file */
  readonly uuid: string;
  readonly backingFile: string;
  /** `/dev/loopN` */
  readonly loopDevice: string;
  readonly major: number;
  readonly minor: number;
  /** 512-byte sectors, as `/sys/block/<disk>/size` */
  readonly sectors: number;
}

export type ControllerState = "live" | "connecting" | "resetting" | "deleting";

/** One fabric connection (a controller, `nvmeC`), always part of one subsystem. */
export interface ControllerRecord {
  /** C in `nvmeC` and in the hidden path disk `nvmeScCn1` */
  readonly instance: number;
  readonly subsystem: number;
  readonly nqn: string;
  readonly hostNqn: string;
  readonly hostId: string | undefined;
  readonly transport: "tcp";
  readonly traddr: string;
  readonly trsvcid: string;
  readonly cntlid: number;
  /** seconds; undefined = the kernel default (600); -1 = reconnect forever ("off") */
  readonly ctrlLossTmo: number | undefined;
  readonly reconnectDelay: number | undefined;
  readonly keepAliveTmo: number | undefined;
  readonly state: ControllerState;
}

export interface FabricState {
  readonly version: 1;
  readonly subsystems: readonly SubsystemRecord[];
  readonly controllers: readonly ControllerRecord[];
  /** the next controller id (`cntlid`) the target hands out */
  readonly nextCntlid: number;
  /**
   * Instances of controllers and subsystems the kernel gave up on (`loseForGood`): never handed out
   * again by this fabric, as a dead namespace still held by a mount keeps its numbers. Absent = none.
   */
  readonly retired?: { readonly controllers: readonly number[]; readonly subsystems: readonly number[] };
}

export const EMPTY_STATE: FabricState = { version: 1, subsystems: [], controllers: [], nextCntlid: 1 };

const STATE_FILE = "fabric.json";
const LOCK_FILE = "fabric.lock";
const LOCK_WAIT_MS = 30_000;
const LOCK_POLL_MS = 10;

export async function readFabricState(stateDir: string): Promise<FabricState> {
  try {
    return JSON.parse(await readFile(join(stateDir, STATE_FILE), "utf8")) as FabricState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return EMPTY_STATE;
    throw err;
  }
}

async function writeFabricState(stateDir: string, state: FabricState): Promise<void> {
  const temp = join(stateDir, `${STATE_FILE}.${process.pid}.tmp`);
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`);
  await rename(temp, join(stateDir, STATE_FILE));
}

/**
 * Runs `change` with the fabric state while holding the state directory's lock (an O_EXCL lock file
 * holding the owner's pid; a lock whose owner died is taken over), then saves what it returns. The
 * CLI (one process per `nvme` call) and FakeFabric (in the test process) both go through here, so
 * concurrent invocations see each other's changes.
 */
export async function withFabricState<T>(stateDir: string, change: (state: FabricState) => Promise<{ state: FabricState; result: T }>): Promise<T> {
  await mkdir(stateDir, { recursive: true });
  const release = await acquireLock(join(stateDir, LOCK_FILE));
  try {
    const { state, result } = await change(await readFabricState(stateDir));
    await writeFabricState(stateDir, state);
    return result;
  } finally {
    await release();
  }
}

async function acquireLock(path: string): Promise<() => Promise<void>> {
  const token = `${process.pid} ${Math.random().toString(36).slice(2)}`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(token);
      await handle.close();
      return async () => {
        const held = await readFile(path, "utf8").catch(() => "");
        if (held === token) await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    await removeIfOwnerDead(path);
    if (Date.now() > deadline) throw new Error(`fake nvme: timed out waiting for the fabric lock ${path}`);
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

async function removeIfOwnerDead(path: string): Promise<void> {
  const held = await readFile(path, "utf8").catch(() => "");
  const pid = Number(held.split(" ")[0]);
  if (!Number.isInteger(pid) || pid <= 0) return; // being written, or gone
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") {
      // Re-read so we never remove a lock another process took in the meantime.
      if ((await readFile(path, "utf8").catch(() => "")) === held) await rm(path, { force: true });
    }
  }
}

/** Lowest instance number not in `used` and not in `avoid` (the kernel's ida hands out the lowest free). */
export function lowestFree(used: Iterable<number>, avoid: Iterable<number> = []): number {
  const taken = new Set([...used, ...avoid]);
  let candidate = 0;
  while (taken.has(candidate)) candidate += 1;
  return candidate;
}
