import { stat } from "node:fs/promises";
import { join } from "node:path";
import { FailedPreconditionError, UnavailableError, abortableSleep } from "@rds-csi/core";
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
  readonly uuid: string;
  readonly sizeBytes: number;
}

/**
 * Native NVMe multipath (`nvme_core.multipath=Y`) shows one visible namespace head per subsystem,
 * `nvme<S>n<N>`, where S is the *subsystem* instance, and one hidden per-path disk per controller,
 * `nvme<S>c<C>n<N>`, where C is the *controller* instance. S and C differ once instances were reused
 * or renumbered, so the controller name never predicts the device name. Only the head has a `dev`
 * and a device node; hidden paths must never be opened.
 */
const HEAD = /^nvme\d+n\d+$/;
const MAJOR_MINOR = /^\d+:\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class DeviceResolver {
  constructor(
    private readonly sysfs: Sysfs,
    private readonly devRoot: string = "/dev",
  ) {}

  /**
   * The namespace head of the subsystem with this NQN, or undefined when no such subsystem or head
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
    const subsys = subsystems[0]!;
    const found: DeviceIdentity[] = [];
    for (const entry of await this.sysfs.list(`class/nvme-subsystem/${subsys}`)) {
      if (!HEAD.test(entry)) continue; // also skips hidden nvme<S>c<C>n<N> paths and controllers
      if ((await this.sysfs.read(`class/block/${entry}/hidden`)) === "1") continue;
      const identity = await this.#read(nqn, entry, `class/nvme-subsystem/${subsys}/${entry}`);
      if (identity === undefined) continue;
      if (nsid === undefined || identity.nsid === nsid) found.push(identity);
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
   * Re-reads the device named by `expected` and fails closed: missing, another NQN, nsid, UUID or
   * device number (a reconnect that renumbered or replaced it) → FailedPreconditionError. Size may
   * differ (expansion); the current identity is returned.
   */
  async verify(expected: DeviceIdentity): Promise<DeviceIdentity> {
    const stale = (why: string): FailedPreconditionError =>
      new FailedPreconditionError(`device ${expected.devicePath} is no longer namespace ${expected.nsid} (${expected.uuid}) of ${expected.nqn}: ${why}`);
    const subsysPath = await this.sysfs.realpath(`class/block/${expected.name}/device`);
    if (subsysPath === undefined) throw stale("its sysfs entry is gone");
    const nqn = await this.sysfs.read(`${subsysPath}/subsysnqn`);
    if (nqn !== expected.nqn) throw stale(`it belongs to ${nqn ?? "an unreadable subsystem"}`);
    const current = await this.#read(expected.nqn, expected.name, `class/block/${expected.name}`);
    if (current === undefined) throw stale("its attributes cannot be read");
    if (current.nsid !== expected.nsid) throw stale(`nsid is ${current.nsid}`);
    if (current.uuid.toLowerCase() !== expected.uuid.toLowerCase()) throw stale(`uuid is ${current.uuid}`);
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
    let delay = 20;
    for (;;) {
      signal.throwIfAborted();
      const identity = await this.resolve(nqn, nsid);
      if (identity !== undefined) return identity;
      const left = deadline - Date.now();
      if (left <= 0) throw new UnavailableError(`namespace of ${nqn} did not appear within ${timeoutMs} ms`);
      await abortableSleep(Math.min(delay, left), signal);
      delay = Math.min(delay * 2, 500);
    }
  }

  async #read(nqn: string, name: string, base: string): Promise<DeviceIdentity | undefined> {
    const [nsidText, uuidText, wwid, dev, size] = await Promise.all(
      ["nsid", "uuid", "wwid", "dev", "size"].map((attr) => this.sysfs.read(`${base}/${attr}`)),
    );
    if (nsidText === undefined || dev === undefined || size === undefined) return undefined;
    const uuid = uuidText !== undefined && UUID.test(uuidText) ? uuidText : wwid?.startsWith("uuid.") ? wwid.slice(5) : undefined;
    if (uuid === undefined || !UUID.test(uuid)) throw new FailedPreconditionError(`${name} of ${nqn} has no namespace UUID (uuid ${uuidText}, wwid ${wwid}): cannot be identified`);
    if (!MAJOR_MINOR.test(dev)) throw new FailedPreconditionError(`${name}: unexpected dev ${JSON.stringify(dev)}`);
    const nsid = Number(nsidText);
    const sectors = Number(size);
    if (!Number.isSafeInteger(nsid) || nsid <= 0 || !Number.isSafeInteger(sectors) || sectors < 0) {
      throw new FailedPreconditionError(`${name}: unexpected nsid ${nsidText} or size ${size}`);
    }
    // sysfs `size` is always in 512-byte sectors, whatever the logical block size.
    return { nqn, name, devicePath: join(this.devRoot, name), majorMinor: dev, nsid, uuid: uuid.toLowerCase(), sizeBytes: sectors * 512 };
  }

  async #deviceNode(path: string): Promise<string | undefined> {
    try {
      const node = await stat(path);
      if (!node.isBlockDevice()) throw new FailedPreconditionError(`${path} is not a block device`);
      return majorMinorOf(node.rdev);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }
}

/** Linux `dev_t` (new encoding) → `MAJ:MIN`. */
export function majorMinorOf(rdev: number): string {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00);
  return `${major}:${minor}`;
}
