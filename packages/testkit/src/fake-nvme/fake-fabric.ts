import { appendFile, lstat, mkdir, mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { readFabricState, type FabricLayout, type FabricState, type NamespaceIds } from "./fabric-state.js";
import { FakeInitiator, NoSuchDevice, type ConnectRequest, type FabricConfig, type ReconnectOptions } from "./fake-initiator.js";
import { IoGate } from "./io-gate.js";
import type { BlockDevices } from "./namespace-disks.js";
import { FAKE_NVME_ENV } from "./nvme-command.js";
import { writeNvmeShim } from "./nvme-shim.js";
import { TargetRefused } from "./simulator-link.js";
import { controllerName } from "./sysfs-layout.js";

export interface FakeFabricOptions {
  /** the RDS simulator's control API (`sim.controlUrl`) */
  readonly simulatorUrl: string;
  /** this host's NQN: what `nvme connect` uses without `-q` (default: a fixed test NQN) */
  readonly hostNqn?: string;
  /** this host's `/etc/nvme/hostid`: what `nvme connect` passes without `-I` (default: none, the kernel's default host ID) */
  readonly hostId?: string;
  /** where to make the host's directories (default: a new directory under the OS temp dir) */
  readonly baseDir?: string;
  /** where the kernel puts the namespace's visible disk (default "native-multipath") */
  readonly layout?: FabricLayout;
  /** which identifiers the target reports for a namespace (default "stable-uuid") */
  readonly namespaceIds?: NamespaceIds;
  /** the address the target listens on; a connect to another `traddr` fails (default: the simulator's host) */
  readonly targetAddress?: string;
  /** extra delay of the namespace scan after `nvme connect` returned (default 0: only the scan process's start-up) */
  readonly scanDelayMs?: number;
  /**
   * Namespaces' I/O through a FUSE gate (io-gate.ts): it blocks while the controller reconnects and fails
   * with EIO once no path is left, as the kernel's. Needs /dev/fuse, fuse3 and python3-fusepy. Default off.
   */
  readonly gatedIo?: boolean;
  /**
   * The kernel's own timers after a lost connection (loseConnection): a reconnect attempt every
   * `reconnect_delay`, the controller deleted after `ctrl_loss_tmo`, each second lasting `msPerSecond`
   * ms. Default off: only the test moves the fabric on.
   */
  readonly kernelTimers?: { readonly msPerSecond: number };
  /**
   * What a namespace's block device is (namespace-disks.ts): "loop" (default; root) or "virtual" (no
   * root: numbers without a kernel device, the node a symlink to the export's file; see deviceNumberAt).
   */
  readonly blockDevices?: BlockDevices;
}

/** Where a connected namespace is, as a test wants to check it. */
export interface NamespaceView {
  readonly nqn: string;
  /** visible disk name (`nvmeSnN`, or `nvmeCnN` without multipath) */
  readonly disk: string;
  /** `<devRoot>/nvmeSnN` */
  readonly devicePath: string;
  readonly controllers: readonly string[];
  readonly loopDevice: string;
  readonly major: number;
  readonly minor: number;
  readonly sizeBytes: number;
  readonly state: string;
  readonly uuid: string | undefined;
  readonly eui64: string | undefined;
}

export const DEFAULT_FAKE_HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-00000000f4b1";

/**
 * One fake host's NVMe/TCP initiator for tests: its own sysfs root, dev root and fabric state, the
 * `nvme` shim the node plugin execs, and fault injection. A second host is a second FakeFabric with
 * another host NQN; the simulator records both connections.
 *
 * Fault injection is by NQN:
 * - loseConnection: controllers go to `connecting` (kernel retrying). With `gatedIo` the namespace's I/O
 *   is held (a FUSE gate under its loop device); with `kernelTimers` the fabric then reconnects or gives
 *   up by itself as the kernel does. Without them only the state changes.
 * - reconnect: back to `live`; with `{ renumber: true }` the controller is recreated with new controller
 *   and subsystem numbers, a new head disk name, a new loop device (new major:minor) for the same file,
 *   and the old device node removed — a mount made before now sits on a dead device (stale mount).
 * - resizeNamespace: after the RDS grew the file, the namespace's new size appears (loop device and sysfs).
 * - loseControllerForGood: what the kernel does once `ctrl_loss_tmo` expires — controllers, namespace,
 *   sysfs entries and device node gone, the target no longer connected; a mount keeps the old loop
 *   device until unmounted (readable without `gatedIo`, EIO with it). A later connect gets new numbers
 *   and a new loop device.
 */
export class FakeFabric {
  readonly #initiator: FakeInitiator;
  readonly #ownsBase: boolean;
  readonly #gate: IoGate | undefined;
  readonly #kernelTimers: { readonly msPerSecond: number } | undefined;
  readonly #reconnecting = new Map<string, { readonly stop: AbortController; readonly done: Promise<void> }>();

  private constructor(
    readonly baseDir: string,
    readonly config: FabricConfig,
    readonly hostNqn: string,
    readonly hostId: string | undefined,
    ownsBase: boolean,
    private readonly scanDelayMs: number,
    gate: IoGate | undefined,
    kernelTimers: { readonly msPerSecond: number } | undefined,
  ) {
    this.#initiator = new FakeInitiator(config);
    this.#ownsBase = ownsBase;
    this.#gate = gate;
    this.#kernelTimers = kernelTimers;
  }

  static async create(options: FakeFabricOptions): Promise<FakeFabric> {
    const ownsBase = options.baseDir === undefined;
    if (options.blockDevices === "virtual" && options.gatedIo === true) throw new Error("fake fabric: gatedIo needs loop devices, not virtual disks");
    const baseDir = options.baseDir ?? (await mkdtemp(join(tmpdir(), "fake-nvme-")));
    const gate = options.gatedIo === true ? await IoGate.start(baseDir) : undefined;
    const config: FabricConfig = {
      stateDir: join(baseDir, "state"),
      sysfsRoot: join(baseDir, "sys"),
      devRoot: join(baseDir, "dev"),
      simulatorUrl: options.simulatorUrl,
      layout: options.layout ?? "native-multipath",
      namespaceIds: options.namespaceIds ?? "stable-uuid",
      targetAddress: options.targetAddress ?? new URL(options.simulatorUrl).hostname,
      ioGate: gate?.mountPoint,
      blockDevices: options.blockDevices ?? "loop",
    };
    // What the kernel shows once nvme-core and nvme-tcp are loaded, before any connection.
    for (const dir of ["class/nvme", "class/nvme-subsystem", "class/block", "block", "devices/virtual"]) {
      await mkdir(join(config.sysfsRoot, dir), { recursive: true });
    }
    await mkdir(join(config.devRoot, "disk/by-id"), { recursive: true });
    await mkdir(config.stateDir, { recursive: true });
    return new FakeFabric(baseDir, config, options.hostNqn ?? DEFAULT_FAKE_HOST_NQN, options.hostId, ownsBase, options.scanDelayMs ?? 0, gate, options.kernelTimers);
  }

  get sysfsRoot(): string {
    return this.config.sysfsRoot;
  }

  get devRoot(): string {
    return this.config.devRoot;
  }

  /** The FAKE_NVME_* environment of this host for the `nvme` program. */
  get env(): Record<string, string> {
    return {
      [FAKE_NVME_ENV.stateDir]: this.config.stateDir,
      [FAKE_NVME_ENV.sysfsRoot]: this.config.sysfsRoot,
      [FAKE_NVME_ENV.devRoot]: this.config.devRoot,
      [FAKE_NVME_ENV.simulatorUrl]: this.config.simulatorUrl,
      [FAKE_NVME_ENV.hostNqn]: this.hostNqn,
      ...(this.hostId !== undefined && { [FAKE_NVME_ENV.hostId]: this.hostId }),
      [FAKE_NVME_ENV.layout]: this.config.layout,
      [FAKE_NVME_ENV.namespaceIds]: this.config.namespaceIds,
      [FAKE_NVME_ENV.targetAddress]: this.config.targetAddress,
      [FAKE_NVME_ENV.scanDelayMs]: String(this.scanDelayMs),
      ...(this.config.ioGate !== undefined && { [FAKE_NVME_ENV.ioGate]: this.config.ioGate }),
      [FAKE_NVME_ENV.blockDevices]: this.config.blockDevices ?? "loop",
    };
  }

  /** Writes this host's `nvme` shim (default: `<baseDir>/bin/nvme`) and returns its path. */
  async writeShim(dir = join(this.baseDir, "bin")): Promise<string> {
    return writeNvmeShim(dir, this.env);
  }

  /** `nvme connect` without the shim; returns the controller name once the namespace was scanned. */
  async connect(request: Omit<ConnectRequest, "hostNqn"> & { hostNqn?: string }): Promise<string> {
    return this.#initiator.connect({ ...request, hostNqn: request.hostNqn ?? this.hostNqn, hostId: request.hostId ?? this.hostId });
  }

  /** `nvme disconnect -n NQN`; returns how many controllers went away. */
  async disconnect(nqn: string): Promise<number> {
    return this.#initiator.disconnectNqn(nqn);
  }

  /**
   * The connection broke: controllers `connecting`, I/O held (with a gate). With kernelTimers the
   * kernel then reconnects or gives up by itself (see #reconnectLoop); else the test calls reconnect
   * or loseControllerForGood.
   */
  async loseConnection(nqn: string): Promise<void> {
    await this.#initiator.loseConnection(nqn);
    if (this.#kernelTimers === undefined || this.#reconnecting.has(nqn)) return;
    const stop = new AbortController();
    const done = this.#reconnectLoop(nqn, this.#kernelTimers.msPerSecond, stop.signal)
      .catch(async (err: unknown) => {
        if (!stop.signal.aborted) await appendFile(join(this.config.stateDir, "fabric.log"), `${JSON.stringify({ event: "reconnect-loop-failed", nqn, error: String(err) })}\n`).catch(() => undefined);
      })
      .finally(() => this.#reconnecting.delete(nqn));
    this.#reconnecting.set(nqn, { stop, done });
  }

  /** Resolves once the kernel's reconnect loop of `nqn` ended (reconnected or gave up), at once when none runs. */
  async reconnectSettled(nqn: string): Promise<void> {
    await this.#reconnecting.get(nqn)?.done;
  }

  /**
   * tcp.c nvme_tcp_error_recovery_work → nvme_tcp_reconnect_or_remove: a reconnect attempt
   * (nvme_tcp_reconnect_ctrl_work) every `reconnect_delay` while fabrics.c nvmf_should_reconnect allows
   * it — `max_reconnects` = DIV_ROUND_UP(ctrl_loss_tmo, reconnect_delay) attempts (nvmf_parse_options),
   * unlimited for ctrl_loss_tmo -1 — then the controller is deleted (nvme_delete_ctrl). An attempt
   * succeeds when the target takes the host back.
   */
  async #reconnectLoop(nqn: string, msPerSecond: number, signal: AbortSignal): Promise<void> {
    const ctrl = (await this.state()).controllers.find((candidate) => candidate.nqn === nqn);
    if (ctrl === undefined) return;
    const delaySeconds = ctrl.reconnectDelay ?? 10;
    const lossSeconds = ctrl.ctrlLossTmo ?? 600;
    const maxAttempts = lossSeconds < 0 ? Infinity : Math.ceil(lossSeconds / delaySeconds);
    for (let attempt = 1; ; attempt++) {
      await sleep(delaySeconds * msPerSecond, undefined, { signal });
      try {
        await this.#initiator.reconnect(nqn);
        return;
      } catch (err) {
        if (err instanceof NoSuchDevice) return; // disconnected meanwhile: nothing left to reconnect
        if (!(err instanceof TargetRefused)) throw err;
      }
      if (attempt >= maxAttempts) {
        await this.#initiator.loseForGood(nqn);
        return;
      }
    }
  }

  async reconnect(nqn: string, options: ReconnectOptions = {}): Promise<void> {
    await this.#initiator.reconnect(nqn, options);
  }

  async loseControllerForGood(nqn: string): Promise<void> {
    await this.#initiator.loseForGood(nqn);
  }

  async resizeNamespace(nqn: string): Promise<void> {
    await this.#initiator.resizeNamespace(nqn);
  }

  /** The target (RDS) restarted: with namespaceIds "uuid-per-restart", namespaces identified from now on get a new UUID. */
  async targetRestarted(): Promise<void> {
    await this.#initiator.targetRestarted();
  }

  /**
   * A device-mapper (or md) device `holder` now sits on the namespace: the kernel lists it in the disk's
   * `holders/` (block/holder.c bd_link_disk_holder); an empty list takes it away again.
   */
  async setHolders(nqn: string, holders: readonly string[]): Promise<void> {
    await this.#initiator.setHolders(nqn, holders);
  }

  /** Waits, bounded, until every connected subsystem's namespace was scanned (`nvme connect` returns before). */
  async scanned(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.state()).subsystems.some((sub) => sub.namespace === undefined)) {
      if (Date.now() > deadline) throw new Error(`fake fabric: a namespace scan did not finish within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  async state(): Promise<FabricState> {
    return readFabricState(this.config.stateDir);
  }

  /** The connected namespace of `nqn`, or undefined (also while its scan is pending). */
  async namespace(nqn: string): Promise<NamespaceView | undefined> {
    const state = await this.state();
    const sub = state.subsystems.find((candidate) => candidate.nqn === nqn);
    const ns = sub?.namespace;
    if (sub === undefined || ns === undefined) return undefined;
    const controllers = state.controllers.filter((ctrl) => ctrl.subsystem === sub.instance);
    return {
      nqn,
      disk: ns.disk,
      devicePath: join(this.config.devRoot, ns.disk),
      controllers: controllers.map((ctrl) => controllerName(ctrl.instance)),
      loopDevice: ns.loopDevice,
      major: ns.major,
      minor: ns.minor,
      sizeBytes: ns.sectors * 512,
      state: controllers[0]?.state ?? "deleting",
      uuid: ns.uuid,
      eui64: ns.eui64,
    };
  }

  /**
   * With virtual disks, what stat(2) would say a path of the dev root is: the `MAJ:MIN` of the namespace
   * whose node `path` is (also through the by-id links), or undefined when `path` is no disk node of
   * this fabric (a removed node included). The kernel's stat follows links the same way and reports the
   * node's device number.
   */
  async deviceNumberAt(path: string): Promise<string | undefined> {
    let node = path;
    for (let hops = 0; hops < 8; hops++) {
      const info = await lstat(node).catch(() => undefined);
      if (info === undefined || !info.isSymbolicLink()) return undefined;
      if (dirname(node) === this.devRoot) break; // a disk node: a link to the export's file
      node = resolve(dirname(node), await readlink(node));
    }
    if (dirname(node) !== this.devRoot) return undefined;
    // The disk's `dev` in sysfs, as devtmpfs makes the node from the gendisk's dev_t: written before the
    // node appears and removed after it goes, while the fabric state is saved only after a whole change.
    const dev = await readFile(join(this.sysfsRoot, "class/block", basename(node), "dev"), "utf8").catch(() => undefined);
    return dev?.trim();
  }

  /**
   * Disconnects everything (the simulator is told when it is still reachable), detaches every loop
   * device and removes this host's directories when FakeFabric made them. A loop device still mounted
   * by the test is detached lazily by the kernel at unmount.
   */
  async cleanup(): Promise<void> {
    for (const { stop, done } of this.#reconnecting.values()) {
      stop.abort();
      await done;
    }
    const workers = await this.#initiator.cleanup();
    // A scan process still waiting for the lock finds nothing to do; it must be gone before the directories.
    for (const pid of workers) await exited(pid);
    await this.#gate?.stop(); // after the loop devices went: held I/O is let through first
    if (this.#ownsBase) await rm(this.baseDir, { recursive: true, force: true });
  }
}

/** Waits (bounded) until the process `pid` is gone. */
async function exited(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`fake fabric: scan process ${pid} did not exit within ${timeoutMs} ms`);
    await sleep(10);
  }
}
