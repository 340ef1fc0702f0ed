import { InvalidArgumentError } from "../errors.js";
import type { FsType } from "./fs-type.js";
import type { MountOptionsPolicy } from "./storage-class-parameters.js";

/**
 * The mount options (a PV's or StorageClass's `mountOptions`, CSI `mount_flags`) this driver passes to
 * mount(8), checked before anything is connected, formatted or mounted: by the controller at
 * CreateVolume and by the node at NodeStage and NodePublish, with this one list.
 *
 * Each flag is one option, `name` or `name=value`, as mount(8) reads one element of `-o a,b,c`; a
 * comma, whitespace or NUL inside a flag would make mount read something else. An option is accepted
 * only when it is listed below for the volume's filesystem and its value has the listed form; every
 * other option is refused by name, because mount(8) fails an unknown one only after the device was
 * connected and formatted, and some known ones change what is mounted or where (see REFUSED).
 */

/** How the value of an option is written: none, a whole number (`uint?`: optional), a size (`64k`), one of some words (optionally). */
type ValueForm = "none" | "uint" | "uint?" | "size" | { readonly oneOf: readonly string[]; readonly optional?: boolean };

const UINT = /^\d{1,10}$/;
const SIZE = /^\d{1,10}[kmgKMG]?$/;

/**
 * util-linux mount(8), "FILESYSTEM-INDEPENDENT MOUNT OPTIONS": those that change only how this one
 * filesystem behaves (access times, sync, device files, exec, setuid). `defaults` is rw,suid,dev,exec,
 * auto,nouser,async.
 */
const COMMON: Readonly<Record<string, ValueForm>> = {
  defaults: "none", rw: "none",
  async: "none", sync: "none", dirsync: "none",
  atime: "none", noatime: "none", diratime: "none", nodiratime: "none", relatime: "none", norelatime: "none",
  strictatime: "none", nostrictatime: "none", lazytime: "none", nolazytime: "none",
  dev: "none", nodev: "none", exec: "none", noexec: "none", suid: "none", nosuid: "none", nosymfollow: "none",
  iversion: "none", noiversion: "none",
};

const DAX: ValueForm = { oneOf: ["always", "never", "inode"], optional: true };
const ZERO_ONE: ValueForm = { oneOf: ["0", "1"], optional: true };
const GROUP_IDS = { grpid: "none", bsdgroups: "none", nogrpid: "none", sysvgroups: "none" } as const;

/**
 * Linux Documentation/admin-guide/ext4.rst, "Mount options". ext3 is mounted by the ext4 driver
 * (CONFIG_EXT4_USE_FOR_EXT2/3), which reads the same options and refuses those ext3 cannot honour;
 * such a refusal at mount is answered INVALID_ARGUMENT as well.
 */
const EXT4: Readonly<Record<string, ValueForm>> = {
  journal_checksum: "none", nojournal_checksum: "none", journal_async_commit: "none",
  journal_ioprio: { oneOf: ["0", "1", "2", "3", "4", "5", "6", "7"] },
  commit: "uint", barrier: ZERO_ONE, nobarrier: "none",
  inode_readahead_blks: "uint", stripe: "uint", delalloc: "none", nodelalloc: "none",
  max_batch_time: "uint", min_batch_time: "uint", auto_da_alloc: ZERO_ONE, noauto_da_alloc: "none",
  init_itable: "uint?", noinit_itable: "none",
  discard: "none", nodiscard: "none", nouid32: "none", block_validity: "none", noblock_validity: "none",
  dioread_lock: "none", dioread_nolock: "none", nombcache: "none", no_prefetch_block_bitmaps: "none",
  mb_optimize_scan: { oneOf: ["0", "1"] },
  // panic is refused: a filesystem error on one volume would take the whole node down.
  errors: { oneOf: ["continue", "remount-ro"] },
  data: { oneOf: ["journal", "ordered", "writeback"] }, data_err: { oneOf: ["ignore", "abort"] },
  ...GROUP_IDS, resgid: "uint", resuid: "uint",
  user_xattr: "none", acl: "none", noacl: "none",
  quota: "none", noquota: "none", usrquota: "none", grpquota: "none", prjquota: "none",
  dax: DAX,
};

/** Linux Documentation/admin-guide/xfs.rst, "Mount Options" (without those deprecated or removed by 6.x). */
const XFS: Readonly<Record<string, ValueForm>> = {
  allocsize: "size", discard: "none", nodiscard: "none", ...GROUP_IDS, filestreams: "none",
  inode32: "none", inode64: "none", largeio: "none", nolargeio: "none",
  logbufs: { oneOf: ["2", "3", "4", "5", "6", "7", "8"] }, logbsize: { oneOf: ["16k", "32k", "64k", "128k", "256k"] },
  noalign: "none", sunit: "uint", swidth: "uint", swalloc: "none", wsync: "none",
  // A clone or restored snapshot carries its source's filesystem UUID; nouuid mounts it beside the source.
  nouuid: "none",
  noquota: "none", quota: "none", uquota: "none", usrquota: "none", uqnoenforce: "none", qnoenforce: "none",
  gquota: "none", grpquota: "none", gqnoenforce: "none", pquota: "none", prjquota: "none", pqnoenforce: "none",
  dax: DAX,
};

const BY_FS: Readonly<Record<FsType, Readonly<Record<string, ValueForm>>>> = {
  ext4: { ...COMMON, ...EXT4 },
  ext3: { ...COMMON, ...EXT4 },
  xfs: { ...COMMON, ...XFS },
};

/** Known options that are refused, with the reason the message gives. */
const REFUSED: Readonly<Record<string, string>> = {
  ro: "read-only access is the volume's (PV readOnly, publish readonly), not a mount option of the staging mount",
  bind: "it changes what is mounted", rbind: "it changes what is mounted", move: "it changes what is mounted",
  remount: "it changes an existing mount", loop: "it changes what is mounted",
  user: "it is for fstab", users: "it is for fstab", nouser: "it is for fstab", owner: "it is for fstab", group: "it is for fstab",
  auto: "it is for fstab", noauto: "it is for fstab", nofail: "it is for fstab", _netdev: "it is for fstab",
  context: "SELinux labels are kubelet's", fscontext: "SELinux labels are kubelet's", defcontext: "SELinux labels are kubelet's", rootcontext: "SELinux labels are kubelet's",
  logdev: "it names another device", rtdev: "it names another device", journal_dev: "it names another device", journal_path: "it names another device",
  usrjquota: "it names a file", grpjquota: "it names a file", jqfmt: "journaled quota files are not supported",
  sb: "it mounts another superblock", norecovery: "it skips journal recovery", noload: "it skips journal recovery",
  abort: "it is a debugging option", debug: "it is a debugging option", test_dummy_encryption: "it is a debugging option",
  mand: "it is deprecated and refused by the kernel", nomand: "it is deprecated and refused by the kernel",
};

/** Why `option` is not accepted for `fsType`; undefined when it is. */
export function mountOptionProblem(fsType: FsType, option: string): string | undefined {
  if (option === "" || /[,\s\0]/.test(option)) return "each mount flag is one option, without commas, whitespace or NUL";
  const eq = option.indexOf("=");
  const name = eq < 0 ? option : option.slice(0, eq);
  const value = eq < 0 ? undefined : option.slice(eq + 1);
  if (/^x-/i.test(name)) return "userspace (x-) options are for fstab";
  const refused = REFUSED[name];
  if (refused !== undefined) return `it is not accepted: ${refused}`;
  const form = BY_FS[fsType][name];
  if (form === undefined) return `it is not a known ${fsType} mount option (see docs/mount-options.md)`;
  if (form === "none") return value === undefined ? undefined : "it takes no value";
  if (value === undefined) return form === "uint?" || (typeof form === "object" && form.optional === true) ? undefined : "it needs a value";
  if (form === "uint" || form === "uint?") return UINT.test(value) ? undefined : "its value must be a whole number";
  if (form === "size") return SIZE.test(value) ? undefined : "its value must be a size such as 64k";
  return form.oneOf.includes(value) ? undefined : `its value must be one of ${form.oneOf.join(", ")}`;
}

/** Longest part of an option quoted in a message: the rest of a long value adds nothing. */
const QUOTED_MAX = 64;

/**
 * Refuses, before any side effect, mount flags that the volume's policy forbids or that are not
 * accepted for its filesystem; the InvalidArgumentError names `field` and the option.
 */
export function checkMountOptions(options: { readonly fsType: FsType; readonly flags: readonly string[]; readonly policy: MountOptionsPolicy; readonly field: string }): void {
  const { fsType, flags, policy, field } = options;
  flags.forEach((flag, i) => {
    const quoted = JSON.stringify(flag.length > QUOTED_MAX ? `${flag.slice(0, QUOTED_MAX)}…` : flag);
    if (policy === "forbid") {
      throw new InvalidArgumentError(`${field}[${i}]: mount option ${quoted} is refused: this StorageClass forbids mount options (mountOptionsPolicy=forbid)`);
    }
    const problem = mountOptionProblem(fsType, flag);
    if (problem !== undefined) throw new InvalidArgumentError(`${field}[${i}]: mount option ${quoted} for ${fsType}: ${problem}`);
  });
}
