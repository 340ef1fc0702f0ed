import { lstat, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { FailedPreconditionError, InternalError } from "@rds-csi/core";
import { canonicalPath } from "../../src/mount/canonical-path.js";
import { assertAbsolutePath, type Mounter, type UnmountOptions } from "../../src/mount/mounter.js";
import type { MountInfoEntry } from "../../src/mount/parse-mountinfo.js";

/** What the host the fake mounts on knows of its block devices. */
export interface FakeMounterDevices {
  /** `MAJ:MIN` of the block device node at `path`, null for anything else, undefined when missing (DeviceNodes.numberAt without the mounts). */
  numberAt(path: string): Promise<string | null | undefined>;
  /** The filesystem blkid finds on the device at `path`, undefined when none. */
  filesystemOn(path: string): Promise<string | undefined>;
}

/** The host's own root filesystem, where every path no fake mount covers lives (as `/` in mountinfo). */
export const HOST_ROOT_FS = { majorMinor: "0:1", fsType: "hostfs", source: "/dev/root" } as const;

/** mount(8) "RETURN CODES": 32 mount failure; umount(8) the same. As ExecMounter words a failed run. */
const failed = (what: string, message: string): InternalError => new InternalError(`${what} failed (exit 32): ${message}`);

/**
 * In-memory `Mounter` for node-service tests, as strict as mount(8) and the kernel where the node relies
 * on them (each rule cites its source):
 * - a mount point must exist (mount(2) ENOENT: util-linux "mount point does not exist") and, for a
 *   filesystem, be a directory (ENOTDIR: "mount point is not a directory");
 * - a filesystem mount needs a block device holding that filesystem (ENOTBLK: "<source> is not a block
 *   device"; ENOENT: "special device <source> does not exist"; EINVAL from the filesystem's fill_super:
 *   "wrong fs type, bad option, bad superblock"); its mountinfo line carries the device's number;
 * - a bind needs an existing source, and a directory binds only onto a directory, a file only onto a
 *   non-directory (fs/namespace.c graft_tree: -ENOTDIR when d_is_dir differs); it shows the device and
 *   root of the mount holding the source (fs/proc_namespace.c show_mountinfo: `root` is the source's
 *   path inside that filesystem) — a bind of a device node shows the node's filesystem, not the device
 *   (stat(2) of the target shows the device: `boundDeviceAt`);
 * - mounts stack per target; unmount takes the top one per attempt, as ExecMounter retries (3 attempts);
 *   a target is busy when marked in `busy` or when a mount sits below it (fs/namespace.c do_umount:
 *   propagate_mount_busy counts child mounts) and is then refused unless the device is dead (ExecMounter's
 *   lazy unmount, MNT_DETACH: umount_tree takes the children with it); a non-mount is already done;
 * - nothing mounts on top of a bind of a device node that was unlinked since (devtmpfs removes a deleted
 *   disk's node: drivers/base/devtmpfs.c handle_remove; fs/namespace.c do_lock_mount refuses an unlinked
 *   mount point with -ENOENT, which mount(8) reports as "mount(2) system call failed: No such file or
 *   directory");
 * - mount points are recorded canonical (symlinks resolved), as the kernel records them.
 */
export class FakeMounter implements Mounter {
  private readonly table: MountInfoEntry[] = [];
  /** mountId → the block device a bind of a device node shows to stat(2), and the node's path */
  private readonly bound = new Map<number, { readonly device: string; readonly node: string }>();
  private nextId = 100;
  readonly busy = new Set<string>();

  constructor(private readonly devices: FakeMounterDevices) {}

  async mount(source: string, target: string, fsType: string, options: readonly string[], signal?: AbortSignal): Promise<void> {
    assertAbsolutePath("mount source", source);
    assertAbsolutePath("mount target", target);
    signal?.throwIfAborted();
    const what = `mount of ${source} at ${target}`;
    const point = await this.mountPoint(what, target);
    if (!point.isDirectory) throw failed(what, `mount: ${target}: mount point is not a directory.`);
    const device = await this.devices.numberAt(source);
    if (device === undefined) throw failed(what, `mount: ${target}: special device ${source} does not exist.`);
    if (device === null) throw failed(what, `mount: ${target}: ${source} is not a block device.`);
    if ((await this.devices.filesystemOn(source)) !== fsType) {
      throw failed(what, `mount: ${target}: wrong fs type, bad option, bad superblock on ${source}, missing codepage or helper program, or other error.`);
    }
    const access = options.includes("ro") ? "ro" : "rw";
    const perMount = options.filter((o) => PER_MOUNT_FLAGS.has(o));
    if (!perMount.some((o) => ATIME_FLAGS.has(o))) perMount.push("relatime"); // the kernel's default (fs/namespace.c path_mount)
    const perSuperblock = options.filter((o) => o !== "ro" && o !== "rw" && !PER_MOUNT_FLAGS.has(o));
    this.add({ majorMinor: device, root: "/", mountPoint: point.path, fsType, source, mountOptions: [access, ...perMount], superOptions: [access, ...perSuperblock] });
  }

  async bindMount(source: string, target: string, options: { readonly readonly: boolean }): Promise<void> {
    assertAbsolutePath("bind source", source);
    assertAbsolutePath("bind target", target);
    const what = `bind mount of ${source} at ${target}`;
    const from = await stat(source).catch(() => undefined);
    if (from === undefined) throw failed(what, `mount: ${target}: special device ${source} does not exist.`);
    const point = await this.mountPoint(what, target);
    if (from.isDirectory() !== point.isDirectory) throw failed(what, `mount: ${target}: mount point is not a directory.`);
    const sourcePath = await canonicalPath(source);
    const holder = this.holderOf(sourcePath);
    const root = holder.mountPoint === sourcePath ? holder.root : join(holder.root, relative(holder.mountPoint, sourcePath));
    // A bind is a clone of the mount holding its source and keeps its per-mount flags (fs/namespace.c
    // clone_mnt); read-only is ExecMounter's remount of the bind alone.
    const entry = this.add({
      majorMinor: holder.majorMinor, root, mountPoint: point.path, fsType: holder.fsType, source: holder.source,
      mountOptions: [options.readonly ? "ro" : "rw", ...holder.mountOptions.filter((o) => o !== "ro" && o !== "rw")], superOptions: holder.superOptions,
    });
    const inherited = this.bound.get(this.topAt(sourcePath)?.mountId ?? -1);
    const device = inherited?.device ?? (await this.devices.numberAt(source));
    if (typeof device === "string") this.bound.set(entry.mountId, { device, node: inherited?.node ?? source });
  }

  async unmount(target: string, options: UnmountOptions = {}): Promise<void> {
    assertAbsolutePath("unmount target", target);
    const path = await canonicalPath(target);
    for (let attempt = 1; attempt <= UNMOUNT_ATTEMPTS; attempt++) {
      options.signal?.throwIfAborted();
      const top = this.topAt(path);
      if (top === undefined) return;
      if (this.isBusy(path)) break;
      this.remove(top);
    }
    const top = this.topAt(path);
    if (top === undefined) return;
    if (!options.deviceDead) throw new FailedPreconditionError(`unmount of ${target} failed after ${UNMOUNT_ATTEMPTS} attempts: umount: ${target}: target is busy.`);
    for (const child of this.table.filter((m) => m.mountId > top.mountId && m.mountPoint.startsWith(`${path}/`))) this.remove(child);
    this.remove(top);
  }

  async mountsOf(target: string): Promise<MountInfoEntry[]> {
    assertAbsolutePath("mount point", target);
    const path = await canonicalPath(target);
    return this.table.filter((entry) => entry.mountPoint === path);
  }

  async mountTable(): Promise<MountInfoEntry[]> {
    return [...this.table];
  }

  async isMountPoint(target: string): Promise<boolean> {
    return (await this.mountsOf(target)).length > 0;
  }

  /** What stat(2) of `path` shows when a device node is bound there: that device's number; else undefined. */
  async boundDeviceAt(path: string): Promise<string | undefined> {
    const top = this.topAt(await canonicalPath(path));
    return top === undefined ? undefined : this.bound.get(top.mountId)?.device;
  }

  /** Whether a filesystem on the device `majorMinor` is mounted (the kernel then holds the device exclusively). */
  hasFilesystemOf(majorMinor: string): boolean {
    return this.table.some((m) => m.majorMinor === majorMinor && m.root === "/" && !this.bound.has(m.mountId));
  }

  private async mountPoint(what: string, target: string): Promise<{ path: string; isDirectory: boolean }> {
    const info = await stat(target).catch(() => undefined);
    if (info === undefined) throw failed(what, `mount: ${target}: mount point does not exist.`);
    const path = await canonicalPath(target);
    // On top of a bind of a device node that was since unlinked (devtmpfs removes a deleted disk's node,
    // drivers/base/devtmpfs.c handle_remove) nothing can be mounted: the bind's root is an unlinked
    // dentry (fs/namespace.c do_lock_mount: cant_mount → -ENOENT).
    const node = this.bound.get(this.topAt(path)?.mountId ?? -1)?.node;
    if (node !== undefined && (await lstat(node).catch(() => undefined)) === undefined) throw failed(what, `mount: ${target}: mount(2) system call failed: No such file or directory.`);
    return { path, isDirectory: info.isDirectory() };
  }

  private topAt(path: string): MountInfoEntry | undefined {
    return this.table.findLast((entry) => entry.mountPoint === path);
  }

  /** The mount a path lives on: the deepest mount whose mount point is the path or an ancestor (the last of a stack), else the host's root. */
  private holderOf(path: string): Pick<MountInfoEntry, "mountId" | "majorMinor" | "root" | "mountPoint" | "fsType" | "source" | "mountOptions" | "superOptions"> {
    const covering = this.table.filter((m) => m.mountPoint === path || path.startsWith(`${m.mountPoint}/`));
    const deepest = covering.reduce<MountInfoEntry | undefined>((best, m) => (best === undefined || m.mountPoint.length >= best.mountPoint.length ? m : best), undefined);
    return deepest ?? { ...HOST_ROOT_FS, mountId: 1, root: "/", mountPoint: "/", mountOptions: ["rw", "relatime"], superOptions: ["rw"] };
  }

  private isBusy(path: string): boolean {
    const top = this.topAt(path)!;
    return this.busy.has(path) || this.table.some((m) => m.mountId > top.mountId && m.mountPoint.startsWith(`${path}/`));
  }

  private add(fields: Pick<MountInfoEntry, "majorMinor" | "root" | "mountPoint" | "fsType" | "source" | "mountOptions" | "superOptions">): MountInfoEntry {
    const id = this.nextId++;
    const [major, minor] = fields.majorMinor.split(":").map(Number) as [number, number];
    const entry: MountInfoEntry = { mountId: id, parentId: this.holderOf(fields.mountPoint).mountId, major, minor, optionalFields: [], ...fields };
    this.table.push(entry);
    return entry;
  }

  private remove(entry: MountInfoEntry): void {
    this.table.splice(this.table.indexOf(entry), 1);
    this.bound.delete(entry.mountId);
  }
}

/**
 * Options the kernel keeps per mount and shows in mountinfo's mount options (fs/proc_namespace.c
 * show_mnt_opts); the rest belong to the superblock (show_sb_opts and the filesystem's own).
 */
const PER_MOUNT_FLAGS = new Set(["nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime", "strictatime", "nosymfollow"]);
const ATIME_FLAGS = new Set(["noatime", "relatime", "strictatime"]);

/** ExecMounter's default number of plain unmount attempts. */
const UNMOUNT_ATTEMPTS = 3;
