import { constants } from "node:fs";
import { open, stat } from "node:fs/promises";

/**
 * The kernel's answer to "which block device is at this path": a device node, or a file a device node
 * is bind-mounted on (stat(2) of the mount point reports the bound node's `st_rdev`, which the mount
 * table cannot show). The node's one door to device nodes (STYLE §2), beside `Sysfs` and `Mounter`,
 * so the node service runs under tests whose device nodes are not real.
 */
export interface DeviceNodes {
  /** `MAJ:MIN` of the block device at `path`; null when `path` is something else; undefined when it does not exist. Other errors throw. */
  numberAt(path: string): Promise<string | null | undefined>;
  /**
   * Whether something holds the block device at `path` open exclusively (a mounted filesystem does,
   * also one mounted in another mount namespace): true when an O_EXCL open fails with EBUSY, false when
   * it succeeds, undefined when the device cannot be opened at all.
   */
  openedExclusively(path: string): Promise<boolean | undefined>;
}

/** DeviceNodes of this host: stat(2) and open(2). */
export class KernelDeviceNodes implements DeviceNodes {
  async numberAt(path: string): Promise<string | null | undefined> {
    try {
      const info = await stat(path);
      return info.isBlockDevice() ? majorMinorOf(info.rdev) : null;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw err;
    }
  }

  async openedExclusively(path: string): Promise<boolean | undefined> {
    try {
      await (await open(path, constants.O_RDONLY | constants.O_EXCL | constants.O_NONBLOCK)).close();
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "EBUSY" ? true : undefined;
    }
  }
}

/** Linux `dev_t` (new encoding) → `MAJ:MIN`. */
export function majorMinorOf(rdev: number): string {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00);
  return `${major}:${minor}`;
}
