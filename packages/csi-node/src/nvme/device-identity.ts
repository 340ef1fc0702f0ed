import { join } from "node:path";
import { abortableSleep, Backoff, FailedPreconditionError, UnavailableError } from "@rds-csi/core";
import { KernelDeviceNodes, type DeviceNodes } from "./device-nodes.js";
import type { Sysfs } from "./sysfs.js";

/**
 * What a staged volume's block device is, by identity rather than by name (invariant 5): the names
 * `nvmeSnN` are handed out by the kernel in connection order and are reused after a reconnect, so a
 * remembered name may point at another volume's namespace. The NQN, nsid, namespace UUID and the
 * device number together say "this is still the same namespace on the same device node".
 */
export interface DeviceIdentity {
  readonly nqn: string;
  /** namespace head, `nvme<S>n<N>` */
  readonly name: string;
  /** `<devRoot>/<name>` */
  readonly devicePath: string;
  /** `MAJ:MIN` from sysfs `dev`; the device node must carry the same number */
  readonly majorMinor: string;
  readonly nsid: number;
  /**
   * The namespace UUID when the target reports one (lower case), else undefined (an EUI-64-only target:
   * the kernel shows no `uuid` file). A witness, not the identity: see docs/design/device-identity.md.
   */
  readonly uuid: string | undefined;
  /** the kernel's `wwid` (`uuid.…`, `eui.…`, `nvme.…`): what udev names `/dev/disk/by-id/nvme-<wwid>` after */
  readonly wwid: string;
  readonly sizeBytes: number;
}

/**
 * Where the kernel puts a namespace's visible disk depends on multipath (multipath.c
 * nvme_mpath_set_disk_name and nvme_mpath_alloc_disk, core.c nvme_alloc_ns):
 * - native multipath (`nvme_core.multipath=Y` and a target advertising multi-controller support, CMIC):
 *   one namespace head per subsystem, `nvme<S>n<N>` under the subsystem, where S is the *subsystem*
 *   instance, and one hidden per-path disk per controller, `nvme<S>c<C>n<N>`, under the controller;
 * - multipath on but no CMIC: no head; the controller's own disk `nvme<S>n<N>`, under the controller;
 * - `nvme_core.multipath=N` or no CONFIG_NVME_MULTIPATH: the controller's own disk `nvme<C>n<N>`, under
 *   the controller.
 * So the disk is looked for under the subsystem and under each of its controllers. S and C differ once
 * instances were reused or renumbered, and N is the head instance, not the nsid: names never predict
 * each other. Only the visible disk has a `dev` and a device node; hidden paths must never be opened.
 */
const DISK = /^nvme\d+n\d+$/;
const CONTROLLER = /^nvme\d+$/;
const MAJOR_MINOR = /^\d+:\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class DeviceResolver {
  constructor(
    private readonly sysfs: Sysfs,
    private readonly devRoot: string = "/dev",
    /** What the device nodes under `devRoot` (and bind mounts of them) are; the kernel's by default. */
    readonly deviceNodes: DeviceNodes = new KernelDeviceNodes(),
  ) {}

  /**
   * The visible disk of the subsystem with this NQN (head or controller disk), or undefined when no such subsystem or head
   * exists yet (udev and the kernel lag a connect). Throws when the answer would be ambiguous or when
   * what is there is inconsistent: guessing here is how the wrong volume gets formatted.
   */
  async resolve(nqn: string, nsid?: number): Promise<DeviceIdentity | undefined> {
    const subsystems: string[] = [];
    for (const subsys of await this.sysfs.list("class/nvme-subsystem")) {
      if ((await this.sysfs.read(`class/nvme-subsystem/${subsys}/subsysnqn`)) === nqn) subsystems.push(subsys);
    }
    if (subsystems.length === 0) return undefined;
    if (subsystems.length > 1) throw new FailedPreconditionError(`NQN ${nqn} is claimed by several NVMe subsystems (${subsystems.join(", ")})`);
    const subsysDir = `class/nvme-subsystem/${subsystems[0]!}`;
    const found: DeviceIdentity[] = [];
    const entries = await this.sysfs.list(subsysDir);
    const places = [subsysDir, ...entries.filter((entry) => CONTROLLER.test(entry)).map((ctrl) => `${subsysDir}/${ctrl}`)];
    for (const dir of places) {
      for (const entry of dir === subsysDir ? entries : await this.sysfs.list(dir)) {
        if (!DISK.test(entry)) continue; // also skips hidden nvme<S>c<C>n<N> paths and controllers
        if ((await this.sysfs.read(`${dir}/${entry}/hidden`)) === "1") continue;
        const identity = await this.#read(nqn, entry, `${dir}/${entry}`);
        if (identity === undefined) continue;
        if (nsid === undefined || identity.nsid === nsid) found.push(identity);
      }
    }
    if (found.length > 1) {
      throw new FailedPreconditionError(`subsystem ${nqn} has several namespaces (${found.map((f) => `${f.name} nsid ${f.nsid}`).join(", ")}); name the nsid`);
    }
    const identity = found[0];
    if (identity === undefined) return undefined;
    // The node may lag the sysfs entry (udev); treat "not yet there" as not resolved, a wrong one as an error.
    const node = await this.#deviceNode(identity.devicePath);
    if (node === undefined) return undefined;
    if (node !== identity.majorMinor) {
      throw new FailedPreconditionError(`${identity.devicePath} is ${node}, but ${identity.name} of ${nqn} is ${identity.majorMinor}`);
    }
    return identity;
  }

  /**
   * Re-reads the device named by `expected` and fails closed: missing, another NQN, nsid, wwid or
   * device number (a reconnect that renumbered or replaced it) → FailedPreconditionError. Size may
   * differ (expansion); the current identity is returned.
   */
  async verify(expected: DeviceIdentity): Promise<DeviceIdentity> {
    const stale = (why: string): FailedPreconditionError =>
      new FailedPreconditionError(`device ${expected.devicePath} is no longer namespace ${expected.nsid} (${expected.uuid}) of ${expected.nqn}: ${why}`);
    // The disk's parent: the subsystem (a head) or the controller (no head); both carry subsysnqn.
    const parent = await this.sysfs.realpath(`class/block/${expected.name}/device`);
    if (parent === undefined) throw stale("its sysfs entry is gone");
    const nqn = await this.sysfs.read(`${parent}/subsysnqn`);
    if (nqn !== expected.nqn) throw stale(`it belongs to ${nqn ?? "an unreadable subsystem"}`);
    const current = await this.#read(expected.nqn, expected.name, `class/block/${expected.name}`);
    if (current === undefined) throw stale("its attributes cannot be read");
    if (current.nsid !== expected.nsid) throw stale(`nsid is ${current.nsid}`);
    if (current.wwid !== expected.wwid) throw stale(`wwid is ${current.wwid}`);
    if (current.majorMinor !== expected.majorMinor) throw stale(`sysfs dev is ${current.majorMinor}`);
    if (current.devicePath !== expected.devicePath) throw stale(`device path is ${current.devicePath}`);
    const node = await this.#deviceNode(expected.devicePath);
    if (node !== expected.majorMinor) throw stale(node === undefined ? "the device node is missing" : `the device node is ${node}`);
    return current;
  }

  /**
   * Waits, bounded, for the subsystem's namespace to appear (after a connect, the kernel scans the
   * namespaces and udev makes the node asynchronously). Polls with a small growing backoff.
   */
  async waitForNamespace(nqn: string, signal: AbortSignal, timeoutMs: number, nsid?: number): Promise<DeviceIdentity> {
    const deadline = Date.now() + timeoutMs;
    const poll = new Backoff({ initialDelay: 20, maxDelay: 500, jitter: "none" });
    for (;;) {
      signal.throwIfAborted();
      const identity = await this.resolve(nqn, nsid);
      if (identity !== undefined) return identity;
      const left = deadline - Date.now();
      if (left <= 0) throw new UnavailableError(`namespace of ${nqn} did not appear within ${timeoutMs} ms`);
      await abortableSleep(Math.min(poll.next(), left), signal);
    }
  }

  async #read(nqn: string, name: string, base: string): Promise<DeviceIdentity | undefined> {
    const [nsidText, uuidText, wwid, dev, size] = await Promise.all(
      ["nsid", "uuid", "wwid", "dev", "size"].map((attr) => this.sysfs.read(`${base}/${attr}`)),
    );
    if (nsidText === undefined || dev === undefined || size === undefined || wwid === undefined) return undefined;
    // core.c: `uuid` exists only when the namespace has a UUID (or an NGUID, shown in its place); an
    // EUI-64-only namespace has none. `wwid` always exists (wwid_show falls back to vendor/serial/model).
    if (uuidText !== undefined && !UUID.test(uuidText)) throw new FailedPreconditionError(`${name} of ${nqn}: unexpected uuid ${JSON.stringify(uuidText)}`);
    if (wwid === "") throw new FailedPreconditionError(`${name} of ${nqn} has an empty wwid`);
    if (!MAJOR_MINOR.test(dev)) throw new FailedPreconditionError(`${name}: unexpected dev ${JSON.stringify(dev)}`);
    const nsid = Number(nsidText);
    const sectors = Number(size);
    if (!Number.isSafeInteger(nsid) || nsid <= 0 || !Number.isSafeInteger(sectors) || sectors < 0) {
      throw new FailedPreconditionError(`${name}: unexpected nsid ${nsidText} or size ${size}`);
    }
    // sysfs `size` is always in 512-byte sectors, whatever the logical block size.
    return { nqn, name, devicePath: join(this.devRoot, name), majorMinor: dev, nsid, uuid: uuidText?.toLowerCase(), wwid, sizeBytes: sectors * 512 };
  }

  async #deviceNode(path: string): Promise<string | undefined> {
    const number = await this.deviceNodes.numberAt(path);
    if (number === null) throw new FailedPreconditionError(`${path} is not a block device`);
    return number;
  }
}

/** What the staging metadata records of a device: the UUID as "" when the namespace has none. */
export function recordedDevice(identity: DeviceIdentity): { majorMinor: string; nsid: number; uuid: string } {
  return { majorMinor: identity.majorMinor, nsid: identity.nsid, uuid: identity.uuid ?? "" };
}

