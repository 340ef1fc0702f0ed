import { readFile, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { attachLoop, detachLoop, makeBlockNode, refreshLoop } from "./loop-devices.js";

/**
 * What a connected namespace's block device is in the fake fabric:
 * - "loop": a loop device over the export's file and a real block node (mknod) with its numbers: the
 *   kernel does the I/O, mounts are real. Root only.
 * - "virtual": no kernel device. The namespace gets numbers of the kernel's extended block major (259,
 *   blkext, where NVMe disks get theirs: block/genhd.c blk_alloc_ext_minor) and its "device node" is a
 *   symbolic link to the export's file, so tools that read and write it (blkid, mkfs) act on the
 *   volume's data as through a loop device. Nothing is a block device to the kernel: the node plugin
 *   sees these through a DeviceNodes stand-in that asks the fabric (FakeFabric.deviceNumberAt), and
 *   mounts are a stand-in's (csi-node's FakeMounter). No root needed.
 */
export type BlockDevices = "loop" | "virtual";
export const BLOCK_DEVICE_MODES: readonly BlockDevices[] = ["loop", "virtual"];

/** The kernel's extended block major (include/linux/major.h BLOCK_EXT_MAJOR). */
export const BLOCK_EXT_MAJOR = 259;

export interface NamespaceDisk {
  /** `/dev/loopN`; "" for a virtual disk */
  readonly path: string;
  readonly major: number;
  readonly minor: number;
  /** 512-byte sectors */
  readonly sectors: number;
}

/** Attaching, resizing and detaching a namespace's block device, and making its node in the dev root. */
export interface NamespaceDisks {
  attach(file: string): Promise<NamespaceDisk>;
  /** The disk's size after its file grew. */
  refresh(disk: string, file: string): Promise<number>;
  detach(disk: string): Promise<void>;
  makeNode(node: string, disk: NamespaceDisk, file: string): Promise<void>;
}

export function namespaceDisks(mode: BlockDevices, stateDir: string): NamespaceDisks {
  return mode === "loop" ? loopDisks : new VirtualDisks(stateDir);
}

const loopDisks: NamespaceDisks = {
  attach: (file) => attachLoop(file),
  refresh: async (disk) => (await refreshLoop(disk)).sectors,
  detach: (disk) => detachLoop(disk),
  makeNode: (node, disk) => makeBlockNode(node, disk.major, disk.minor),
};

/**
 * Virtual disks. Minors come from a counter in the state directory (every caller holds the fabric
 * lock) and are never handed out again: the kernel reuses a minor once the old disk is released, which
 * only a real mount could tell.
 */
class VirtualDisks implements NamespaceDisks {
  readonly #counter: string;

  constructor(stateDir: string) {
    this.#counter = join(stateDir, "virtual-minors");
  }

  async attach(file: string): Promise<NamespaceDisk> {
    const minor = Number((await readFile(this.#counter, "utf8").catch(() => "0")).trim());
    await writeFile(this.#counter, `${minor + 1}\n`);
    return { path: "", major: BLOCK_EXT_MAJOR, minor, sectors: await sectorsOf(file) };
  }

  refresh(_disk: string, file: string): Promise<number> {
    return sectorsOf(file);
  }

  async detach(): Promise<void> {}

  async makeNode(node: string, _disk: NamespaceDisk, file: string): Promise<void> {
    await symlink(file, node);
  }
}

/** A block device's size is its file's, in whole 512-byte sectors (loop.c get_size). */
async function sectorsOf(file: string): Promise<number> {
  return Math.floor((await stat(file)).size / 512);
}
