import { createHash } from "node:crypto";
import { appendFile, mkdir, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { lowestFree, withFabricState, type ControllerRecord, type FabricState, type SubsystemRecord } from "./fabric-state.js";
import { attachLoop, detachLoop, makeBlockNode, refreshLoop, type LoopDevice } from "./loop-devices.js";
import { SimulatorLink } from "./simulator-link.js";
import { controllerName, headDiskName, pathDiskName } from "./sysfs-layout.js";
import { SysfsTree } from "./sysfs-tree.js";

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

export interface ReconnectOptions {
  /**
   * The kernel gave up on the controller (ctrl_loss_tmo) and a new connect created a new one: new
   * controller and subsystem numbers, a new block device name, a new loop device (new major:minor) over
   * the same file, the old device node gone. Without it the controller just goes back to `live`.
   */
  readonly renumber?: boolean;
}

type Change<T> = Promise<{ state: FabricState; result: T }>;

/**
 * What the kernel's NVMe/TCP initiator does, over loop devices: controllers, subsystems and namespaces
 * as sysfs entries, the namespace as a block device node with the loop device's major:minor, the
 * connection registered with the RDS simulator. Every operation holds the fabric lock.
 */
export class FakeInitiator {
  readonly #tree: SysfsTree;
  readonly #target: SimulatorLink;

  constructor(readonly config: FabricConfig) {
    this.#tree = new SysfsTree(config.sysfsRoot);
    this.#target = new SimulatorLink(config.simulatorUrl);
  }

  /** `nvme connect`: returns the new controller's name (`nvmeC`). */
  async connect(request: ConnectRequest): Promise<string> {
    return this.#locked(async (state) => {
      const existing = state.controllers.find(
        (ctrl) => ctrl.nqn === request.nqn && ctrl.hostNqn === request.hostNqn && ctrl.traddr === request.traddr && ctrl.trsvcid === request.trsvcid,
      );
      if (existing !== undefined && request.duplicateConnect !== true) throw new AlreadyConnected(controllerName(existing.instance));
      const target = await this.#target.connect(request.nqn, request.hostNqn, request.trsvcid).catch(async (err: unknown) => {
        await this.#log("connect-refused", { nqn: request.nqn, hostNqn: request.hostNqn, reason: (err as Error).message });
        throw err;
      });
      const wasConnected = existing !== undefined;
      try {
        let next = state;
        let sub = state.subsystems.find((candidate) => candidate.nqn === request.nqn);
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
        await this.#tree.addController(sub, ctrl);
        next = { ...next, controllers: [...next.controllers, ctrl], nextCntlid: state.nextCntlid + 1 };
        await this.#log("connect", { nqn: request.nqn, hostNqn: request.hostNqn, controller: controllerName(instance), subsystem: sub.instance });
        return { state: next, result: controllerName(instance) };
      } catch (err) {
        if (!wasConnected) await this.#target.disconnect(request.nqn, request.hostNqn).catch(() => undefined);
        throw err;
      }
    });
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
   * `nvme ns-rescan <device>` (a controller `nvmeC`, a head `nvmeSnN` or a path `nvmeScCnN`, with or
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
    await this.#setState(nqn, "connecting");
  }

  /**
   * The kernel gave up on the subsystem's controllers (`ctrl_loss_tmo` expired): they are deleted with
   * their namespace — sysfs entries, device node, by-id link — and the target no longer counts the
   * connection. The loop device is detached like the kernel drops the gendisk: at once when unused,
   * else when its last user (a mount) lets go; until then it still reads and writes (a loop device
   * cannot be made to fail without device-mapper). The numbers are retired, so a later `connect` makes
   * a new controller, subsystem and head disk name, on a new loop device while the old one is held.
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

  async reconnect(nqn: string, options: ReconnectOptions = {}): Promise<void> {
    if (options.renumber !== true) {
      await this.#locked(async (state) => {
        this.#subsystemOf(state, nqn);
        // The target must take the host back (it may have restarted or revoked access meanwhile).
        for (const ctrl of state.controllers.filter((candidate) => candidate.nqn === nqn)) {
          await this.#target.connect(ctrl.nqn, ctrl.hostNqn, ctrl.trsvcid);
        }
        return { state, result: undefined };
      });
      await this.#setState(nqn, "live");
      return;
    }
    await this.#locked(async (state) => this.#renumber(state, nqn));
  }

  /** Tears down every controller and namespace, detaches every loop device; the target is told best effort. */
  async cleanup(): Promise<void> {
    await this.#locked(async (state) => {
      let next = state;
      for (const ctrl of state.controllers) next = await this.#deleteController(next, ctrl);
      // Subsystems left without controllers by an interrupted run.
      for (const sub of next.subsystems) await this.#destroySubsystem(sub);
      return { state: { ...next, subsystems: [] }, result: undefined };
    });
  }

  async #renumber(state: FabricState, nqn: string): Change<void> {
    const old = this.#subsystemOf(state, nqn);
    const oldControllers = state.controllers.filter((ctrl) => ctrl.subsystem === old.instance);
    const avoidControllers = [...oldControllers.map((ctrl) => ctrl.instance), ...(state.retired?.controllers ?? [])];
    // Attach the new loop device before the old one goes, so the kernel cannot hand out the same minor.
    const loop = await attachLoop(old.backingFile);
    let next: FabricState = state;
    try {
      for (const ctrl of oldControllers) {
        await this.#tree.removeController(old, ctrl);
        next = { ...next, controllers: next.controllers.filter((candidate) => candidate !== ctrl) };
      }
      await this.#destroySubsystem(old);
      next = { ...next, subsystems: next.subsystems.filter((candidate) => candidate !== old) };
      const instances: number[] = [];
      for (let i = 0; i < oldControllers.length; i += 1) {
        instances.push(lowestFree([...next.controllers.map((ctrl) => ctrl.instance), ...instances], avoidControllers));
      }
      const sub = await this.#createSubsystem(next, nqn, old.backingFile, instances[0]!, [old.instance, ...(state.retired?.subsystems ?? [])], loop);
      next = { ...next, subsystems: [...next.subsystems, sub] };
      for (const [index, ctrl] of oldControllers.entries()) {
        await this.#target.connect(ctrl.nqn, ctrl.hostNqn, ctrl.trsvcid).catch(() => undefined);
        const renewed: ControllerRecord = { ...ctrl, instance: instances[index]!, subsystem: sub.instance, cntlid: next.nextCntlid, state: "live" };
        await this.#tree.addController(sub, renewed);
        next = { ...next, controllers: [...next.controllers, renewed], nextCntlid: next.nextCntlid + 1 };
      }
      await this.#log("reconnect-renumbered", { nqn, from: old.instance, to: sub.instance, loop: loop.path });
      return { state: next, result: undefined };
    } catch (err) {
      await detachLoop(loop.path).catch(() => undefined);
      throw err;
    }
  }

  async #setState(nqn: string, value: ControllerRecord["state"]): Promise<void> {
    await this.#locked(async (state) => {
      this.#subsystemOf(state, nqn);
      const controllers = state.controllers.map((ctrl) => (ctrl.nqn === nqn ? { ...ctrl, state: value } : ctrl));
      for (const ctrl of controllers) if (ctrl.nqn === nqn) await this.#tree.setState(ctrl);
      await this.#log("state", { nqn, state: value });
      return { state: { ...state, controllers }, result: undefined };
    });
  }

  async #refreshSize(state: FabricState, sub: SubsystemRecord): Promise<FabricState> {
    const loop = await refreshLoop(sub.loopDevice);
    const resized: SubsystemRecord = { ...sub, sectors: loop.sectors };
    await this.#tree.setSize(
      resized,
      state.controllers.filter((ctrl) => ctrl.subsystem === sub.instance),
    );
    await this.#log("resize", { nqn: sub.nqn, sectors: loop.sectors });
    return { ...state, subsystems: state.subsystems.map((candidate) => (candidate === sub ? resized : candidate)) };
  }

  /** A new subsystem whose instance is the creating controller's when free (as the kernel names it). */
  async #createSubsystem(
    state: FabricState,
    nqn: string,
    backingFile: string,
    controllerInstance: number,
    avoid: readonly number[],
    attached?: LoopDevice,
  ): Promise<SubsystemRecord> {
    const used = state.subsystems.map((sub) => sub.instance);
    const instance = used.includes(controllerInstance) || avoid.includes(controllerInstance) ? lowestFree(used, avoid) : controllerInstance;
    const loop = attached ?? (await attachLoop(backingFile));
    const sub: SubsystemRecord = {
      instance,
      nqn,
      nsid: 1,
      uuid: namespaceUuid(nqn, backingFile),
      backingFile,
      loopDevice: loop.path,
      major: loop.major,
      minor: loop.minor,
      sectors: loop.sectors,
    };
    try {
      await this.#tree.addSubsystem(sub);
      await mkdir(join(this.config.devRoot, "disk/by-id"), { recursive: true });
      const node = join(this.config.devRoot, headDiskName(sub.instance, sub.nsid));
      await rm(node, { force: true });
      await makeBlockNode(node, sub.major, sub.minor);
      const byId = join(this.config.devRoot, "disk/by-id", `nvme-uuid.${sub.uuid}`);
      await rm(byId, { force: true });
      await symlink(`../../${headDiskName(sub.instance, sub.nsid)}`, byId);
    } catch (err) {
      await this.#destroySubsystem(sub).catch(() => undefined);
      throw err;
    }
    return sub;
  }

  async #destroySubsystem(sub: SubsystemRecord): Promise<void> {
    await rm(join(this.config.devRoot, headDiskName(sub.instance, sub.nsid)), { force: true });
    await rm(join(this.config.devRoot, "disk/by-id", `nvme-uuid.${sub.uuid}`), { force: true });
    await this.#tree.removeSubsystem(sub);
    await detachLoop(sub.loopDevice);
  }

  /**
   * Deletes a controller like the kernel: no refusal when its namespace is mounted or open, and no
   * failure when the target cannot be told (the host just drops the connection).
   */
  async #deleteController(state: FabricState, ctrl: ControllerRecord): Promise<FabricState> {
    const sub = state.subsystems.find((candidate) => candidate.instance === ctrl.subsystem);
    let next: FabricState = { ...state, controllers: state.controllers.filter((candidate) => candidate.instance !== ctrl.instance) };
    if (sub !== undefined) await this.#tree.removeController(sub, ctrl);
    const sameHost = next.controllers.some((other) => other.nqn === ctrl.nqn && other.hostNqn === ctrl.hostNqn);
    if (!sameHost) await this.#target.disconnect(ctrl.nqn, ctrl.hostNqn).catch(() => undefined);
    if (sub !== undefined && !next.controllers.some((other) => other.subsystem === sub.instance)) {
      await this.#destroySubsystem(sub);
      next = { ...next, subsystems: next.subsystems.filter((candidate) => candidate.instance !== sub.instance) };
    }
    await this.#log("disconnect", { nqn: ctrl.nqn, hostNqn: ctrl.hostNqn, controller: controllerName(ctrl.instance) });
    return next;
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

/** The subsystem a device name belongs to: controller `nvmeC`, head `nvmeSnN` or path `nvmeScCnN`. */
export function findSubsystemByDevice(state: FabricState, name: string): SubsystemRecord | undefined {
  const ctrl = state.controllers.find((candidate) => controllerName(candidate.instance) === name);
  if (ctrl !== undefined) return state.subsystems.find((sub) => sub.instance === ctrl.subsystem);
  return state.subsystems.find(
    (sub) =>
      headDiskName(sub.instance, sub.nsid) === name ||
      state.controllers.some((c) => c.subsystem === sub.instance && pathDiskName(sub.instance, c.instance, sub.nsid) === name),
  );
}

/** A namespace UUID that stays the same for an export across reconnects, as a real target's does. */
export function namespaceUuid(nqn: string, backingFile: string): string {
  const hex = createHash("sha1").update(`${nqn}\0${backingFile}`).digest("hex");
  const variant = ((parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}
