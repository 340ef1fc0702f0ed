import { createHash, randomUUID } from "node:crypto";
import { appendFile, mkdir, rm, symlink } from "node:fs/promises";
import { basename, join } from "node:path";
import {
  lowestFree,
  withFabricState,
  type ControllerRecord,
  type FabricLayout,
  type FabricState,
  type NamespaceIds,
  type NamespaceRecord,
  type SubsystemRecord,
} from "./fabric-state.js";
import { gateFile, setIoMode, type IoMode } from "./io-gate.js";
import { namespaceDisks, type BlockDevices, type NamespaceDisk, type NamespaceDisks } from "./namespace-disks.js";
import { SimulatorLink } from "./simulator-link.js";
import { controllerName, pathDiskName, visibleDisk } from "./sysfs-layout.js";
import { SysfsTree, wwidOf } from "./sysfs-tree.js";

/** Where one fake host keeps its fabric: shared by the `nvme` shim and FakeFabric. */
export interface FabricConfig {
  /** fabric state (JSON) and its lock */
  readonly stateDir: string;
  /** what the node plugin reads as `/sys` */
  readonly sysfsRoot: string;
  /** what the node plugin reads as `/dev` */
  readonly devRoot: string;
  /** the RDS simulator's control API */
  readonly simulatorUrl: string;
  /** where the kernel puts the namespace's visible disk (default "native-multipath") */
  readonly layout: FabricLayout;
  /** which namespace identifiers the target reports (default "stable-uuid") */
  readonly namespaceIds: NamespaceIds;
  /** the address the target listens on (`traddr`); a connect to any other fails (default: the simulator's host) */
  readonly targetAddress: string;
  /** mount point of the I/O gate (io-gate.ts): namespaces block or fail I/O as the kernel's; absent: I/O always passes */
  readonly ioGate?: string | undefined;
  /** what a namespace's block device is (namespace-disks.ts; default "loop") */
  readonly blockDevices?: BlockDevices | undefined;
}

export interface ConnectRequest {
  readonly nqn: string;
  readonly traddr: string;
  readonly trsvcid: string;
  readonly hostNqn: string;
  readonly hostId?: string | undefined;
  readonly ctrlLossTmo?: number | undefined;
  readonly reconnectDelay?: number | undefined;
  readonly keepAliveTmo?: number | undefined;
  /** nvme-cli's `--duplicate-connect`: a second controller to the same target is allowed */
  readonly duplicateConnect?: boolean | undefined;
}

/** `nvme connect` found a controller for this target and host already (nvme-cli: "already connected"). */
export class AlreadyConnected extends Error {
  override readonly name = "AlreadyConnected";
  constructor(readonly controller: string) {
    super(`already connected as ${controller}`);
  }
}

/** A device or NQN the fabric does not have. */
export class NoSuchDevice extends Error {
  override readonly name = "NoSuchDevice";
}

/**
 * The kernel refused the connect before talking to the target: the fabrics write fails with `errno`
 * (EINVAL for a host NQN seen with another host ID, ECONNREFUSED for no listener at the address).
 */
export class ConnectRejected extends Error {
  override readonly name = "ConnectRejected";
  constructor(
    readonly errno: "EINVAL" | "ECONNREFUSED",
    message: string,
  ) {
    super(message);
  }
}

export interface ReconnectOptions {
  /**
   * The kernel gave up on the controller (ctrl_loss_tmo) and a new connect created a new one: new
   * controller and subsystem numbers, a new block device name, a new loop device (new major:minor) over
   * the same file, the old device node gone. Without it the controller just goes back to `live`.
   */
  readonly renumber?: boolean;
}

type Change<T> = Promise<{ state: FabricState; result: T }>;

export interface ConnectOptions {
  /**
   * Starts the namespace scan in the background and returns the pid of the process doing it (the
   * `nvme` program: the kernel's scan_work runs after `nvme connect` returned). Without it the scan
   * runs before connect returns (FakeFabric's own connect, for test set-up).
   */
  readonly scanLater?: () => number;
}

/**
 * What the kernel's NVMe/TCP initiator does, over loop devices (or virtual disks, namespace-disks.ts):
 * controllers, subsystems and namespaces as sysfs entries, the namespace as a block device node with the
 * loop device's major:minor, the
 * connection registered with the RDS simulator. Every operation holds the fabric lock.
 */
export class FakeInitiator {
  readonly #tree: SysfsTree;
  readonly #target: SimulatorLink;
  readonly #disks: NamespaceDisks;

  constructor(readonly config: FabricConfig) {
    this.#tree = new SysfsTree(config.sysfsRoot);
    this.#target = new SimulatorLink(config.simulatorUrl);
    this.#disks = namespaceDisks(config.blockDevices ?? "loop", config.stateDir);
  }

  /** `nvme connect`: returns the new controller's name (`nvmeC`); the namespace follows with the scan. */
  async connect(request: ConnectRequest, options: ConnectOptions = {}): Promise<string> {
    return this.#locked(async (initial) => {
      let state = initial;
      // drivers/nvme/host/tcp.c nvme_tcp_alloc_queue: the TCP connect to traddr:trsvcid fails when
      // nothing listens there (ECONNREFUSED, or a timeout for an address nobody answers on).
      if (request.traddr !== this.config.targetAddress) {
        await this.#log("connect-refused", { nqn: request.nqn, traddr: request.traddr, reason: "ECONNREFUSED: no NVMe/TCP target at this address" });
        throw new ConnectRejected("ECONNREFUSED", `no NVMe/TCP target at ${request.traddr}:${request.trsvcid}`);
      }
      if (state.defaultHostId === undefined) state = { ...state, defaultHostId: randomUUID() };
      const hostId = request.hostId ?? state.defaultHostId!;
      // fabrics.c nvmf_host_add: one host NQN has one host ID and one host ID one host NQN; any other
      // pairing is -EINVAL ("found same hostnqn … but different hostid").
      for (const other of state.controllers) {
        const otherId = other.hostId ?? state.defaultHostId!;
        if ((other.hostNqn === request.hostNqn) !== (otherId.toLowerCase() === hostId.toLowerCase())) {
          await this.#log("connect-refused", { nqn: request.nqn, hostNqn: request.hostNqn, hostId, reason: `EINVAL: ${other.hostNqn} is connected with host ID ${otherId}` });
          throw new ConnectRejected("EINVAL", `host NQN ${request.hostNqn} with host ID ${hostId} conflicts with ${other.hostNqn} / ${otherId}`);
        }
      }
      const existing = state.controllers.find(
        (ctrl) => ctrl.nqn === request.nqn && ctrl.hostNqn === request.hostNqn && ctrl.traddr === request.traddr && ctrl.trsvcid === request.trsvcid,
      );
      if (existing !== undefined && request.duplicateConnect !== true) throw new AlreadyConnected(controllerName(existing.instance));
      let sub = state.subsystems.find((candidate) => candidate.nqn === request.nqn);
      if (sub !== undefined && this.config.layout !== "native-multipath") {
        throw new Error(`fake nvme: a second controller of one subsystem is not modelled in layout ${this.config.layout}`);
      }
      const target = await this.#target.connect(request.nqn, request.hostNqn, request.trsvcid).catch(async (err: unknown) => {
        await this.#log("connect-refused", { nqn: request.nqn, hostNqn: request.hostNqn, reason: (err as Error).message });
        throw err;
      });
      const wasConnected = existing !== undefined;
      try {
        let next = state;
        const instance = lowestFree(state.controllers.map((ctrl) => ctrl.instance), state.retired?.controllers);
        if (sub === undefined) {
          sub = await this.#createSubsystem(state, request.nqn, target.backingFile, instance, state.retired?.subsystems ?? []);
          next = { ...next, subsystems: [...next.subsystems, sub] };
        }
        const ctrl: ControllerRecord = {
          instance,
          subsystem: sub.instance,
          nqn: request.nqn,
          hostNqn: request.hostNqn,
          hostId: request.hostId,
          transport: "tcp",
          traddr: request.traddr,
          trsvcid: request.trsvcid,
          cntlid: state.nextCntlid,
          ctrlLossTmo: request.ctrlLossTmo,
          reconnectDelay: request.reconnectDelay,
          keepAliveTmo: request.keepAliveTmo,
          state: "live",
        };
        await this.#tree.addController(sub, ctrl, hostId);
        if (sub.namespace !== undefined) await this.#tree.addPath(sub, sub.namespace, ctrl);
        next = { ...next, controllers: [...next.controllers, ctrl], nextCntlid: state.nextCntlid + 1 };
        await this.#log("connect", { nqn: request.nqn, hostNqn: request.hostNqn, controller: controllerName(instance), subsystem: sub.instance });
        if (sub.namespace === undefined) {
          if (options.scanLater !== undefined) next = withSubsystem(next, { ...sub, scanWorker: options.scanLater() });
          else next = await this.#scan(next, sub.nqn);
        }
        return { state: next, result: controllerName(instance) };
      } catch (err) {
        if (!wasConnected) await this.#target.disconnect(request.nqn, request.hostNqn).catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * The namespace scan after a connect (core.c nvme_scan_work → nvme_alloc_ns): the namespace's disks,
   * device node and by-id link appear. Nothing to do when the subsystem is gone or already scanned.
   */
  async scan(nqn: string): Promise<void> {
    await this.#locked(async (state) => ({ state: await this.#scan(state, nqn), result: undefined }));
  }

  /** `nvme disconnect -n NQN`: every controller of the subsystem; returns how many. */
  async disconnectNqn(nqn: string): Promise<number> {
    return this.#locked(async (state) => {
      let next = state;
      const doomed = state.controllers.filter((ctrl) => ctrl.nqn === nqn);
      for (const ctrl of doomed) next = await this.#deleteController(next, ctrl);
      return { state: next, result: doomed.length };
    });
  }

  /** `nvme disconnect -d nvmeC`. */
  async disconnectController(name: string): Promise<void> {
    return this.#locked(async (state) => {
      const ctrl = state.controllers.find((candidate) => controllerName(candidate.instance) === name);
      if (ctrl === undefined) throw new NoSuchDevice(`Did not find device ${name}`);
      return { state: await this.#deleteController(state, ctrl), result: undefined };
    });
  }

  /** `nvme disconnect-all`: returns how many controllers went away. */
  async disconnectAll(): Promise<number> {
    return this.#locked(async (state) => {
      let next = state;
      for (const ctrl of state.controllers) next = await this.#deleteController(next, ctrl);
      return { state: next, result: state.controllers.length };
    });
  }

  /**
   * `nvme ns-rescan <device>` (a controller `nvmeC`, a disk `nvmeXnN` or a path `nvmeScCnN`, with or
   * without a directory): the namespace's new size becomes visible in sysfs and on the block device.
   */
  async rescan(device: string): Promise<void> {
    const name = device.slice(device.lastIndexOf("/") + 1);
    return this.#locked(async (state) => {
      const sub = findSubsystemByDevice(state, name);
      if (sub === undefined) throw new NoSuchDevice(`${device}: No such file or directory`);
      return { state: await this.#refreshSize(state, sub), result: undefined };
    });
  }

  /** The RDS grew the namespace: pick up the new size (what a rescan or the kernel's AEN handling does). */
  async resizeNamespace(nqn: string): Promise<void> {
    return this.#locked(async (state) => {
      const sub = this.#subsystemOf(state, nqn);
      return { state: await this.#refreshSize(state, sub), result: undefined };
    });
  }

  /** The fabric connection broke: every controller of the NQN goes to `connecting` (the kernel retrying). */
  async loseConnection(nqn: string): Promise<void> {
    await this.#locked(async (state) => {
      const next = await this.#withState(state, nqn, "connecting");
      await this.#setIo(this.#subsystemOf(next, nqn).namespace, "queue");
      return { state: next, result: undefined };
    });
  }

  /** The target restarted: namespaces identified from now on carry its new identity (NamespaceIds). */
  async targetRestarted(): Promise<number> {
    return this.#locked(async (state) => {
      const generation = (state.targetGeneration ?? 0) + 1;
      await this.#log("target-restarted", { generation });
      return { state: { ...state, targetGeneration: generation }, result: generation };
    });
  }

  /**
   * The kernel gave up on the subsystem's controllers (`ctrl_loss_tmo` expired): they are deleted with
   * their namespace — sysfs entries, device node, by-id link — and the target no longer counts the
   * connection. The loop device is detached like the kernel drops the gendisk: at once when unused,
   * else when its last user (a mount) lets go. The numbers are retired, so a later `connect` makes
   * a new controller, subsystem and disk name, on a new loop device while the old one is held.
   */
  async loseForGood(nqn: string): Promise<void> {
    return this.#locked(async (state) => {
      const sub = this.#subsystemOf(state, nqn);
      const lost = state.controllers.filter((ctrl) => ctrl.subsystem === sub.instance);
      let next = state;
      for (const ctrl of lost) next = await this.#deleteController(next, ctrl);
      const retired = next.retired ?? { controllers: [], subsystems: [] };
      next = {
        ...next,
        retired: { controllers: [...retired.controllers, ...lost.map((ctrl) => ctrl.instance)], subsystems: [...retired.subsystems, sub.instance] },
      };
      await this.#log("controller-lost", { nqn, controllers: lost.map((ctrl) => controllerName(ctrl.instance)), subsystem: sub.instance });
      return { state: next, result: undefined };
    });
  }

  /**
   * The kernel's reconnect succeeded (tcp.c nvme_tcp_reconnect_ctrl_work): controllers back to `live`.
   * The target must take the host back (it may have restarted or revoked access meanwhile): else this
   * throws and the controllers stay as they were. After a target restart that changed the namespace's
   * identifiers, the rescan replaces the namespace (core.c nvme_validate_ns: "identifiers changed for
   * nsid" → the old disk is removed, a new one with another head instance appears).
   */
  async reconnect(nqn: string, options: ReconnectOptions = {}): Promise<void> {
    if (options.renumber === true) {
      await this.#locked(async (state) => this.#renumber(state, nqn));
      return;
    }
    await this.#locked(async (state) => {
      const sub = this.#subsystemOf(state, nqn);
      for (const ctrl of state.controllers.filter((candidate) => candidate.nqn === nqn)) {
        await this.#target.connect(ctrl.nqn, ctrl.hostNqn, ctrl.trsvcid);
      }
      let next = await this.#withState(state, nqn, "live");
      await this.#setIo(sub.namespace, "pass");
      if (sub.namespace !== undefined && this.#identityChanged(next, sub)) {
        next = await this.#removeNamespace(next, sub);
        next = await this.#scan(withSubsystem(next, { ...sub, namespace: undefined, targetGeneration: next.targetGeneration ?? 0 }), nqn, sub.namespace.instance + 1);
      }
      return { state: next, result: undefined };
    });
  }

  /** `holders/` of the namespace's visible disk: what the kernel shows when dm or md sits on it. */
  async setHolders(nqn: string, holders: readonly string[]): Promise<void> {
    await this.#locked(async (state) => {
      const sub = this.#subsystemOf(state, nqn);
      if (sub.namespace === undefined) throw new NoSuchDevice(`the namespace of ${nqn} was not scanned yet`);
      await this.#tree.setHolders(sub.namespace, sub, holders);
      return { state, result: undefined };
    });
  }

  /** Tears down every controller and namespace, detaches every loop device; the target is told best effort. */
  async cleanup(): Promise<number[]> {
    return this.#locked(async (state) => {
      const workers = state.subsystems.flatMap((sub) => (sub.scanWorker === undefined ? [] : [sub.scanWorker]));
      let next = state;
      for (const ctrl of state.controllers) next = await this.#deleteController(next, ctrl);
      // Subsystems left without controllers by an interrupted run.
      for (const sub of next.subsystems) await this.#destroySubsystem(sub);
      return { state: { ...next, subsystems: [] }, result: workers };
    });
  }

  #identityChanged(state: FabricState, sub: SubsystemRecord): boolean {
    return this.config.namespaceIds === "uuid-per-restart" && sub.targetGeneration !== (state.targetGeneration ?? 0);
  }

  async #renumber(state: FabricState, nqn: string): Change<void> {
    const old = this.#subsystemOf(state, nqn);
    const oldControllers = state.controllers.filter((ctrl) => ctrl.subsystem === old.instance);
    const avoidControllers = [...oldControllers.map((ctrl) => ctrl.instance), ...(state.retired?.controllers ?? [])];
    // Attach the new loop device before the old one goes, so the kernel cannot hand out the same minor.
    const attached = await this.#attach(old.backingFile);
    const { loop } = attached;
    let next: FabricState = state;
    try {
      for (const ctrl of oldControllers) next = await this.#deleteController(next, ctrl, { keepTarget: true });
      const instances: number[] = [];
      for (let i = 0; i < oldControllers.length; i += 1) {
        instances.push(lowestFree([...next.controllers.map((ctrl) => ctrl.instance), ...instances], avoidControllers));
      }
      let sub = await this.#createSubsystem(next, nqn, old.backingFile, instances[0]!, [old.instance, ...(state.retired?.subsystems ?? [])]);
      next = { ...next, subsystems: [...next.subsystems, sub] };
      for (const [index, ctrl] of oldControllers.entries()) {
        await this.#target.connect(ctrl.nqn, ctrl.hostNqn, ctrl.trsvcid).catch(() => undefined);
        const renewed: ControllerRecord = { ...ctrl, instance: instances[index]!, subsystem: sub.instance, cntlid: next.nextCntlid, state: "live" };
        await this.#tree.addController(sub, renewed, ctrl.hostId ?? next.defaultHostId ?? "");
        next = { ...next, controllers: [...next.controllers, renewed], nextCntlid: next.nextCntlid + 1 };
      }
      next = await this.#scan(next, nqn, 1, attached);
      sub = this.#subsystemOf(next, nqn);
      await this.#log("reconnect-renumbered", { nqn, from: old.instance, to: sub.instance, loop: loop.path });
      return { state: next, result: undefined };
    } catch (err) {
      await this.#disks.detach(loop.path).catch(() => undefined);
      throw err;
    }
  }

  async #withState(state: FabricState, nqn: string, value: ControllerRecord["state"]): Promise<FabricState> {
    this.#subsystemOf(state, nqn);
    const controllers = state.controllers.map((ctrl) => (ctrl.nqn === nqn ? { ...ctrl, state: value } : ctrl));
    for (const ctrl of controllers) if (ctrl.nqn === nqn) await this.#tree.setState(ctrl);
    await this.#log("state", { nqn, state: value });
    return { ...state, controllers };
  }

  async #refreshSize(state: FabricState, sub: SubsystemRecord): Promise<FabricState> {
    const ns = sub.namespace;
    if (ns === undefined) return state;
    const sectors = await this.#disks.refresh(ns.loopDevice, sub.backingFile);
    const resized: SubsystemRecord = { ...sub, namespace: { ...ns, sectors } };
    await this.#tree.setSize(resized, resized.namespace!, controllersOf(state, sub));
    await this.#log("resize", { nqn: sub.nqn, sectors });
    return withSubsystem(state, resized);
  }

  /** A new subsystem whose instance is the creating controller's when free (as the kernel names it). */
  async #createSubsystem(state: FabricState, nqn: string, backingFile: string, controllerInstance: number, avoid: readonly number[]): Promise<SubsystemRecord> {
    const used = state.subsystems.map((sub) => sub.instance);
    const instance = used.includes(controllerInstance) || avoid.includes(controllerInstance) ? lowestFree(used, avoid) : controllerInstance;
    const sub: SubsystemRecord = { instance, nqn, backingFile, namespace: undefined, targetGeneration: state.targetGeneration ?? 0 };
    await this.#tree.addSubsystem(sub);
    return sub;
  }

  /** The namespace's disk over the export's file: through an I/O gate alias of its own when there is a gate. */
  async #attach(backingFile: string): Promise<{ loop: NamespaceDisk; ioAlias: string | undefined }> {
    if (this.config.ioGate === undefined) return { loop: await this.#disks.attach(backingFile), ioAlias: undefined };
    const ioAlias = `${basename(backingFile)}.${randomUUID()}`;
    return { loop: await this.#disks.attach(await gateFile(this.config.ioGate, ioAlias, backingFile)), ioAlias };
  }

  async #scan(state: FabricState, nqn: string, headInstance = 1, attached?: { loop: NamespaceDisk; ioAlias: string | undefined }): Promise<FabricState> {
    const sub = state.subsystems.find((candidate) => candidate.nqn === nqn);
    const controllers = sub === undefined ? [] : controllersOf(state, sub);
    if (sub === undefined || sub.namespace !== undefined || controllers.length === 0) {
      if (attached !== undefined) await this.#disks.detach(attached.loop.path);
      return state;
    }
    const { loop, ioAlias } = attached ?? (await this.#attach(sub.backingFile));
    const disk = visibleDisk(this.config.layout, sub.instance, controllers[0]!.instance, headInstance);
    const ns: NamespaceRecord = {
      nsid: 1,
      instance: headInstance,
      ...namespaceIds(this.config.namespaceIds, nqn, sub.backingFile, sub.targetGeneration),
      disk: disk.name,
      diskController: disk.controller,
      loopDevice: loop.path,
      major: loop.major,
      minor: loop.minor,
      sectors: loop.sectors,
      ioAlias,
    };
    const scanned: SubsystemRecord = { ...sub, namespace: ns, scanWorker: undefined };
    try {
      await this.#tree.addNamespace(scanned, ns, controllers);
      await mkdir(join(this.config.devRoot, "disk/by-id"), { recursive: true });
      const node = join(this.config.devRoot, ns.disk);
      await rm(node, { force: true });
      await this.#disks.makeNode(node, loop, sub.backingFile);
      // udev's 60-persistent-storage.rules: KERNEL=="nvme*[0-9]n*[0-9]", SYMLINK+="disk/by-id/nvme-$attr{wwid}"
      const byId = join(this.config.devRoot, "disk/by-id", `nvme-${wwidOf(ns)}`);
      await rm(byId, { force: true });
      await symlink(`../../${ns.disk}`, byId);
    } catch (err) {
      await this.#removeNamespace(withSubsystem(state, scanned), scanned).catch(() => undefined);
      throw err;
    }
    await this.#log("scan", { nqn, disk: ns.disk, loop: loop.path });
    return withSubsystem(state, scanned);
  }

  /** The namespace's disks, device node and by-id link go; its loop device is detached (lazily when held). */
  async #removeNamespace(state: FabricState, sub: SubsystemRecord): Promise<FabricState> {
    const ns = sub.namespace;
    if (ns === undefined) return state;
    await rm(join(this.config.devRoot, ns.disk), { force: true });
    await rm(join(this.config.devRoot, "disk/by-id", `nvme-${wwidOf(ns)}`), { force: true });
    await this.#tree.removeNamespace(sub, ns, controllersOf(state, sub));
    await this.#setIo(ns, "fail"); // no path left: whoever still holds the disk gets I/O errors
    await this.#disks.detach(ns.loopDevice);
    return withSubsystem(state, { ...sub, namespace: undefined });
  }

  async #destroySubsystem(sub: SubsystemRecord): Promise<void> {
    if (sub.namespace !== undefined) {
      await rm(join(this.config.devRoot, sub.namespace.disk), { force: true });
      await rm(join(this.config.devRoot, "disk/by-id", `nvme-${wwidOf(sub.namespace)}`), { force: true });
      await this.#setIo(sub.namespace, "fail");
      await this.#disks.detach(sub.namespace.loopDevice);
    }
    await this.#tree.removeSubsystem(sub);
  }

  /**
   * Deletes a controller like the kernel: no refusal when its namespace is mounted or open, and no
   * failure when the target cannot be told (the host just drops the connection). The namespace goes
   * with the controller holding its disk, or with the subsystem's last controller.
   */
  async #deleteController(state: FabricState, ctrl: ControllerRecord, options: { keepTarget?: boolean } = {}): Promise<FabricState> {
    let sub = state.subsystems.find((candidate) => candidate.instance === ctrl.subsystem);
    let next: FabricState = state;
    if (sub?.namespace !== undefined) {
      const lastOne = controllersOf(state, sub).length === 1;
      if (lastOne || sub.namespace.diskController === ctrl.instance) next = await this.#removeNamespace(next, sub);
      else await this.#tree.removePath(sub, sub.namespace, ctrl);
      sub = next.subsystems.find((candidate) => candidate.instance === ctrl.subsystem);
    }
    next = { ...next, controllers: next.controllers.filter((candidate) => candidate.instance !== ctrl.instance) };
    if (sub !== undefined) await this.#tree.removeController(sub, ctrl);
    const sameHost = next.controllers.some((other) => other.nqn === ctrl.nqn && other.hostNqn === ctrl.hostNqn);
    if (!sameHost && options.keepTarget !== true) await this.#target.disconnect(ctrl.nqn, ctrl.hostNqn).catch(() => undefined);
    if (sub !== undefined && !next.controllers.some((other) => other.subsystem === sub.instance)) {
      await this.#destroySubsystem(sub);
      next = { ...next, subsystems: next.subsystems.filter((candidate) => candidate.instance !== sub.instance) };
    }
    await this.#log("disconnect", { nqn: ctrl.nqn, hostNqn: ctrl.hostNqn, controller: controllerName(ctrl.instance) });
    return next;
  }

  async #setIo(ns: NamespaceRecord | undefined, mode: IoMode): Promise<void> {
    if (ns?.ioAlias === undefined || this.config.ioGate === undefined) return;
    await setIoMode(this.config.ioGate, ns.ioAlias, mode);
  }

  #subsystemOf(state: FabricState, nqn: string): SubsystemRecord {
    const sub = state.subsystems.find((candidate) => candidate.nqn === nqn);
    if (sub === undefined) throw new NoSuchDevice(`no connected subsystem with NQN ${nqn}`);
    return sub;
  }

  async #locked<T>(change: (state: FabricState) => Change<T>): Promise<T> {
    return withFabricState(this.config.stateDir, change);
  }

  async #log(event: string, fields: Record<string, unknown>): Promise<void> {
    const line = JSON.stringify({ time: new Date().toISOString(), pid: process.pid, event, ...fields });
    await appendFile(join(this.config.stateDir, "fabric.log"), `${line}\n`).catch(() => undefined);
  }
}

function controllersOf(state: FabricState, sub: SubsystemRecord): ControllerRecord[] {
  return state.controllers.filter((ctrl) => ctrl.subsystem === sub.instance);
}

function withSubsystem(state: FabricState, sub: SubsystemRecord): FabricState {
  return { ...state, subsystems: state.subsystems.map((candidate) => (candidate.instance === sub.instance ? sub : candidate)) };
}

/** The subsystem a device name belongs to: controller `nvmeC`, visible disk or hidden path `nvmeScCnN`. */
export function findSubsystemByDevice(state: FabricState, name: string): SubsystemRecord | undefined {
  const ctrl = state.controllers.find((candidate) => controllerName(candidate.instance) === name);
  if (ctrl !== undefined) return state.subsystems.find((sub) => sub.instance === ctrl.subsystem);
  return state.subsystems.find(
    (sub) =>
      sub.namespace !== undefined &&
      (sub.namespace.disk === name || controllersOf(state, sub).some((c) => pathDiskName(sub.instance, c.instance, sub.namespace!.instance) === name)),
  );
}

/**
 * The identifiers a target reports for an export's namespace. "stable-uuid": the same UUID for an export
 * across reconnects and restarts; "uuid-per-restart": another one after each target restart;
 * "eui64-only": an EUI-64, stable per export, and no UUID.
 */
export function namespaceIds(mode: NamespaceIds, nqn: string, backingFile: string, generation: number): Pick<NamespaceRecord, "uuid" | "eui64"> {
  if (mode === "eui64-only") return { uuid: undefined, eui64: createHash("sha1").update(`eui\0${nqn}\0${backingFile}`).digest("hex").slice(0, 16) };
  return { uuid: namespaceUuid(nqn, backingFile, mode === "uuid-per-restart" ? generation : 0), eui64: undefined };
}

/** A name-based (version 5 layout) UUID for an export; `generation` > 0 makes another one per target restart. */
export function namespaceUuid(nqn: string, backingFile: string, generation = 0): string {
  const hex = createHash("sha1").update(generation === 0 ? `${nqn}\0${backingFile}` : `${nqn}\0${backingFile}\0${generation}`).digest("hex");
  const variant = ((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}
