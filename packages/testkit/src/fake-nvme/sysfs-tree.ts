import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import type { ControllerRecord, SubsystemRecord } from "./fabric-state.js";
import {
  controllerDir,
  controllerName,
  headDiskDir,
  headDiskName,
  pathDiskDir,
  pathDiskName,
  subsystemDir,
  subsystemName,
} from "./sysfs-layout.js";

export const FAKE_MODEL = "MikroTik RDS (fake fabric)";
export const FAKE_FIRMWARE = "7.16";

/** Writes and removes the fake fabric's entries under a sysfs root (layout: sysfs-layout.ts). */
export class SysfsTree {
  constructor(readonly root: string) {}

  async addSubsystem(sub: SubsystemRecord): Promise<void> {
    const dir = subsystemDir(sub.instance);
    await this.#attributes(dir, {
      subsysnqn: sub.nqn,
      model: FAKE_MODEL,
      serial: serialOf(sub),
      firmware_rev: FAKE_FIRMWARE,
      iopolicy: "numa",
      subsystype: "nvm",
    });
    await this.#link(`class/nvme-subsystem/${subsystemName(sub.instance)}`, dir);
    const head = headDiskDir(sub.instance, sub.nsid);
    await this.#disk(head, sub, { dev: `${sub.major}:${sub.minor}`, hidden: "0" });
    await this.#link(`${head}/device`, dir);
    await this.#blockLinks(headDiskName(sub.instance, sub.nsid), head);
  }

  async removeSubsystem(sub: SubsystemRecord): Promise<void> {
    const head = headDiskName(sub.instance, sub.nsid);
    await this.#remove(`block/${head}`, `class/block/${head}`, `class/nvme-subsystem/${subsystemName(sub.instance)}`, subsystemDir(sub.instance));
  }

  async addController(sub: SubsystemRecord, ctrl: ControllerRecord): Promise<void> {
    const dir = controllerDir(ctrl.instance);
    await this.#attributes(dir, {
      subsysnqn: ctrl.nqn,
      state: ctrl.state,
      transport: ctrl.transport,
      address: `traddr=${ctrl.traddr},trsvcid=${ctrl.trsvcid}`,
      hostnqn: ctrl.hostNqn,
      hostid: ctrl.hostId ?? "",
      cntlid: String(ctrl.cntlid),
      ctrl_loss_tmo: ctrl.ctrlLossTmo === -1 ? "off" : String(ctrl.ctrlLossTmo ?? 600),
      reconnect_delay: String(ctrl.reconnectDelay ?? 10),
      kato: String(ctrl.keepAliveTmo ?? 5),
      model: FAKE_MODEL,
      serial: serialOf(sub),
      firmware_rev: FAKE_FIRMWARE,
      numa_node: "-1",
      queue_count: "2",
      sqsize: "127",
    });
    await this.#link(`class/nvme/${controllerName(ctrl.instance)}`, dir);
    await this.#link(`${subsystemDir(sub.instance)}/${controllerName(ctrl.instance)}`, dir);
    const path = pathDiskDir(sub.instance, ctrl.instance, sub.nsid);
    await this.#disk(path, sub, { hidden: "1" });
    await this.#link(`${path}/device`, dir);
    await this.#blockLinks(pathDiskName(sub.instance, ctrl.instance, sub.nsid), path);
  }

  async removeController(sub: SubsystemRecord, ctrl: ControllerRecord): Promise<void> {
    const path = pathDiskName(sub.instance, ctrl.instance, sub.nsid);
    await this.#remove(
      `block/${path}`,
      `class/block/${path}`,
      `${subsystemDir(sub.instance)}/${controllerName(ctrl.instance)}`,
      `class/nvme/${controllerName(ctrl.instance)}`,
      controllerDir(ctrl.instance),
    );
  }

  async setState(ctrl: ControllerRecord): Promise<void> {
    await writeFile(join(this.root, controllerDir(ctrl.instance), "state"), `${ctrl.state}\n`);
  }

  /** New namespace size on the head and on every path disk, as the kernel does after a rescan. */
  async setSize(sub: SubsystemRecord, controllers: readonly ControllerRecord[]): Promise<void> {
    await writeFile(join(this.root, headDiskDir(sub.instance, sub.nsid), "size"), `${sub.sectors}\n`);
    for (const ctrl of controllers) {
      await writeFile(join(this.root, pathDiskDir(sub.instance, ctrl.instance, sub.nsid), "size"), `${sub.sectors}\n`);
    }
  }

  async #disk(dir: string, sub: SubsystemRecord, extra: Record<string, string>): Promise<void> {
    await this.#attributes(dir, {
      size: String(sub.sectors),
      nsid: String(sub.nsid),
      uuid: sub.uuid,
      wwid: `uuid.${sub.uuid}`,
      ro: "0",
      removable: "0",
      ...extra,
      "queue/logical_block_size": "512",
      "queue/physical_block_size": "512",
    });
    await mkdir(join(this.root, dir, "holders"), { recursive: true });
    await mkdir(join(this.root, dir, "slaves"), { recursive: true });
  }

  async #blockLinks(name: string, dir: string): Promise<void> {
    await this.#link(`class/block/${name}`, dir);
    await this.#link(`block/${name}`, dir);
  }

  /** Each attribute a file holding the value and a newline, as sysfs shows it. */
  async #attributes(dir: string, attributes: Record<string, string>): Promise<void> {
    for (const [name, value] of Object.entries(attributes)) {
      const file = join(this.root, dir, name);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, `${value}\n`);
    }
  }

  /** A relative symlink at `at` to `target` (both under the root), so the tree can be moved or copied. */
  async #link(at: string, target: string): Promise<void> {
    const path = join(this.root, at);
    await mkdir(dirname(path), { recursive: true });
    await rm(path, { force: true });
    await symlink(relative(dirname(path), join(this.root, target)), path);
  }

  async #remove(...paths: string[]): Promise<void> {
    for (const path of paths) await rm(join(this.root, path), { recursive: true, force: true });
  }
}

/** A target's serial number for the subsystem: stable per export. */
export function serialOf(sub: Pick<SubsystemRecord, "uuid">): string {
  return sub.uuid.replace(/-/g, "").slice(0, 20);
}
