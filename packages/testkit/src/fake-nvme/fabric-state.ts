import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Where the kernel puts a namespace's visible disk (drivers/nvme/host/multipath.c
 * nvme_mpath_set_disk_name and nvme_mpath_alloc_disk, core.c nvme_alloc_ns):
 * - "native-multipath": `nvme_core.multipath=Y` and the target advertises multi-controller support
 *   (CMIC bit 1): a head disk `nvme<S>n<N>` under the subsystem, one hidden path `nvme<S>c<C>n<N>` per
 *   controller;
 * - "no-cmic": multipath on, but the target does not advertise CMIC: no head; the controller's own disk,
 *   named `nvme<S>n<N>` after the subsystem, under the controller;
 * - "no-multipath": `nvme_core.multipath=N` or a kernel without CONFIG_NVME_MULTIPATH: the controller's
 *   own disk named `nvme<C>n<N>` after the controller, under the controller.
 */
export type FabricLayout = "native-multipath" | "no-cmic" | "no-multipath";
export const FABRIC_LAYOUTS: readonly FabricLayout[] = ["native-multipath", "no-cmic", "no-multipath"];

/**
 * Which namespace identifiers the target reports (NVMe Identify Namespace Identification Descriptors):
 * - "stable-uuid": a UUID that stays the same for an export, also across target restarts;
 * - "uuid-per-restart": a new UUID whenever the target restarted (Linux nvmet generates one when a
 *   namespace is created without a configured `device_uuid`, drivers/nvme/target/core.c nvmet_ns_alloc);
 * - "eui64-only": no UUID, only an EUI-64 (the kernel then shows no `uuid` file and `wwid` is `eui.…`,
 *   core.c nvme_ns_id_attrs_are_visible and wwid_show).
 */
export type NamespaceIds = "stable-uuid" | "uuid-per-restart" | "eui64-only";
export const NAMESPACE_ID_MODES: readonly NamespaceIds[] = ["stable-uuid", "uuid-per-restart", "eui64-only"];

/** A namespace the host's scan found, backed by a loop device over the export's file. */
export interface NamespaceRecord {
  readonly nsid: number;
  /**
   * N of the disk name: the kernel's per-subsystem head instance (lowest free from 1), not the nsid.
   * A namespace replaced while its old disk is still held gets another instance.
   */
  readonly instance: number;
  readonly uuid: string | undefined;
  /** 16 hex digits */
  readonly eui64: string | undefined;
  /** the visible disk (`nvme<S>n<N>` or `nvme<C>n<N>`), the one with a `dev` and a device node */
  readonly disk: string;
  /** the controller whose directory holds the visible disk; undefined: a head under the subsystem */
  readonly diskController: number | undefined;
  /** `/dev/loopN`; "" for a virtual disk (namespace-disks.ts) */
  readonly loopDevice: string;
  readonly major: number;
  readonly minor: number;
  /** 512-byte sectors, as `/sys/block/<disk>/size` */
  readonly sectors: number;
  /** the I/O gate's alias the loop device reads and writes through (io-gate.ts); absent without a gate */
  readonly ioAlias?: string | undefined;
}

/** A connected subsystem; its namespace appears when the scan after the connect ran. */
export interface SubsystemRecord {
  /** S in `nvme-subsysS` */
  readonly instance: number;
  readonly nqn: string;
  readonly backingFile: string;
  /** undefined until the namespace scan (asynchronous after a connect, as the kernel's scan_work) */
  readonly namespace: NamespaceRecord | undefined;
  /** the target restart this namespace was identified in (see NamespaceIds "uuid-per-restart") */
  readonly targetGeneration: number;
  /** pid of the process that will scan the namespace, while one is pending */
  readonly scanWorker?: number | undefined;
}

export type ControllerState = "live" | "connecting" | "resetting" | "deleting";

/** One fabric connection (a controller, `nvmeC`), always part of one subsystem. */
export interface ControllerRecord {
  /** C in `nvmeC` and in the hidden path disk `nvmeScCnN` */
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
  /** how often the target restarted (FakeFabric.targetRestarted); absent = never */
  readonly targetGeneration?: number;
  /**
   * The host ID the kernel uses when `nvme connect` passes none: its default host's, generated once
   * (drivers/nvme/host/fabrics.c nvmf_host_default / nvmf_parse_options).
   */
  readonly defaultHostId?: string;
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
