import { createHash } from "node:crypto";
import { mkdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import type { ControllerRecord, NamespaceRecord, SubsystemRecord } from "./fabric-state.js";
import { controllerDir, controllerName, pathDiskDir, pathDiskName, subsystemDir, subsystemName, visibleDiskDir } from "./sysfs-layout.js";

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
      serial: serialOf(sub.nqn),
      firmware_rev: FAKE_FIRMWARE,
      iopolicy: "numa",
      subsystype: "nvm",
    });
    await this.#link(`class/nvme-subsystem/${subsystemName(sub.instance)}`, dir);
  }

  async removeSubsystem(sub: SubsystemRecord): Promise<void> {
    await this.#remove(`class/nvme-subsystem/${subsystemName(sub.instance)}`, subsystemDir(sub.instance));
  }

  async addController(sub: SubsystemRecord, ctrl: ControllerRecord, hostId: string): Promise<void> {
    const dir = controllerDir(ctrl.instance);
    await this.#attributes(dir, {
      subsysnqn: ctrl.nqn,
      state: ctrl.state,
      transport: ctrl.transport,
      address: `traddr=${ctrl.traddr},trsvcid=${ctrl.trsvcid}`,
      hostnqn: ctrl.hostNqn,
      hostid: hostId,
      cntlid: String(ctrl.cntlid),
      ctrl_loss_tmo: ctrl.ctrlLossTmo === -1 ? "off" : String(ctrl.ctrlLossTmo ?? 600),
      reconnect_delay: String(ctrl.reconnectDelay ?? 10),
      kato: String(ctrl.keepAliveTmo ?? 5),
      model: FAKE_MODEL,
      serial: serialOf(sub.nqn),
      firmware_rev: FAKE_FIRMWARE,
      numa_node: "-1",
      queue_count: "2",
      sqsize: "127",
    });
    await this.#link(`class/nvme/${controllerName(ctrl.instance)}`, dir);
    await this.#link(`${subsystemDir(sub.instance)}/${controllerName(ctrl.instance)}`, dir);
  }

  async removeController(sub: SubsystemRecord, ctrl: ControllerRecord): Promise<void> {
    await this.#remove(`${subsystemDir(sub.instance)}/${controllerName(ctrl.instance)}`, `class/nvme/${controllerName(ctrl.instance)}`, controllerDir(ctrl.instance));
  }

  /**
   * The namespace's disks: the visible one (a head under the subsystem, or the controller's own disk)
   * with `dev`, and with native multipath a hidden path disk per controller (no `dev`).
   */
  async addNamespace(sub: SubsystemRecord, ns: NamespaceRecord, controllers: readonly ControllerRecord[]): Promise<void> {
    const visible = visibleDiskDir(sub.instance, { name: ns.disk, controller: ns.diskController });
    await this.#disk(visible, ns, { dev: `${ns.major}:${ns.minor}`, hidden: "0" }, ns.diskController === undefined ? subsystemDir(sub.instance) : controllerDir(ns.diskController));
    await this.#blockLinks(ns.disk, visible);
    if (ns.diskController !== undefined) return;
    for (const ctrl of controllers) await this.addPath(sub, ns, ctrl);
  }

  /** A controller joining a subsystem whose head exists gets its hidden path disk (native multipath). */
  async addPath(sub: SubsystemRecord, ns: NamespaceRecord, ctrl: ControllerRecord): Promise<void> {
    const path = pathDiskDir(sub.instance, ctrl.instance, ns.instance);
    await this.#disk(path, ns, { hidden: "1" }, controllerDir(ctrl.instance));
    await this.#blockLinks(pathDiskName(sub.instance, ctrl.instance, ns.instance), path);
  }

  async removeNamespace(sub: SubsystemRecord, ns: NamespaceRecord, controllers: readonly ControllerRecord[]): Promise<void> {
    const visible = visibleDiskDir(sub.instance, { name: ns.disk, controller: ns.diskController });
    await this.#remove(`block/${ns.disk}`, `class/block/${ns.disk}`, visible);
    if (ns.diskController !== undefined) return;
    for (const ctrl of controllers) await this.removePath(sub, ns, ctrl);
  }

  async removePath(sub: SubsystemRecord, ns: NamespaceRecord, ctrl: ControllerRecord): Promise<void> {
    const path = pathDiskName(sub.instance, ctrl.instance, ns.instance);
    await this.#remove(`block/${path}`, `class/block/${path}`, pathDiskDir(sub.instance, ctrl.instance, ns.instance));
  }

  async setState(ctrl: ControllerRecord): Promise<void> {
    await writeAttribute(join(this.root, controllerDir(ctrl.instance), "state"), ctrl.state);
  }

  /** New namespace size on every disk of it, as the kernel does after a rescan. */
  async setSize(sub: SubsystemRecord, ns: NamespaceRecord, controllers: readonly ControllerRecord[]): Promise<void> {
    await writeAttribute(join(this.root, visibleDiskDir(sub.instance, { name: ns.disk, controller: ns.diskController }), "size"), String(ns.sectors));
    if (ns.diskController !== undefined) return;
    for (const ctrl of controllers) {
      await writeAttribute(join(this.root, pathDiskDir(sub.instance, ctrl.instance, ns.instance), "size"), String(ns.sectors));
    }
  }

  /** Entries of a disk's `holders/` (what the kernel links there when a dm or md device is stacked on it). */
  async setHolders(ns: NamespaceRecord, sub: SubsystemRecord, holders: readonly string[]): Promise<void> {
    const dir = join(this.root, visibleDiskDir(sub.instance, { name: ns.disk, controller: ns.diskController }), "holders");
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    for (const holder of holders) await this.#link(`${relative(this.root, dir)}/${holder}`, `devices/virtual/block/${holder}`);
  }

  /**
   * A disk's attributes. The identifiers as core.c shows them: `uuid` only when the namespace has one
   * (nvme_ns_id_attrs_are_visible), `eui` as spaced hex bytes (eui_show, "%8ph"), `wwid` the first of
   * uuid / eui-64 (wwid_show).
   */
  async #disk(dir: string, ns: NamespaceRecord, extra: Record<string, string>, parent: string): Promise<void> {
    // Made beside its place and renamed into it: the kernel's device_add shows the directory with its
    // attributes at once, so a reader must never see a disk without its `dev` or `nsid`.
    const building = `${dir}.new`;
    await this.#remove(building);
    await this.#attributes(building, {
      size: String(ns.sectors),
      nsid: String(ns.nsid),
      ...(ns.uuid !== undefined && { uuid: ns.uuid }),
      ...(ns.eui64 !== undefined && { eui: ns.eui64.match(/../g)!.join(" ") }),
      wwid: wwidOf(ns),
      ro: "0",
      removable: "0",
      ...extra,
      "queue/logical_block_size": "512",
      "queue/physical_block_size": "512",
    });
    await mkdir(join(this.root, building, "holders"), { recursive: true });
    await mkdir(join(this.root, building, "slaves"), { recursive: true });
    await this.#link(`${building}/device`, parent);
    await rename(join(this.root, building), join(this.root, dir));
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
      await writeAttribute(file, value);
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

/**
 * One attribute: the value and a newline, written beside and renamed into place, because a sysfs read
 * never sees a half-written value (the `nvme` program and the node plugin read while others write).
 */
async function writeAttribute(file: string, value: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${value}\n`);
  await rename(temp, file);
}

/** A target's serial number for the subsystem: stable per export. */
export function serialOf(nqn: string): string {
  return createHash("sha1").update(nqn).digest("hex").slice(0, 20);
}

/** The kernel's `wwid` (core.c wwid_show): `uuid.<uuid>` when there is one, else `eui.<16 hex>`. */
export function wwidOf(ns: Pick<NamespaceRecord, "uuid" | "eui64">): string {
  if (ns.uuid !== undefined) return `uuid.${ns.uuid}`;
  if (ns.eui64 !== undefined) return `eui.${ns.eui64}`;
  throw new Error("a fake namespace has a UUID or an EUI-64");
}
