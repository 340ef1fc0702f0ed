import { lstat, realpath } from "node:fs/promises";
import { dirname, isAbsolute } from "node:path";
import { checkMountOptions, DEFAULT_FS_TYPE, InvalidArgumentError, isFsType, type csi, type FsType, type NodeVolumeContext } from "@rds-csi/core";

/** Linux <linux/limits.h>: PATH_MAX counts the terminating NUL; NAME_MAX is one path component. */
const PATH_MAX = 4095;
const NAME_MAX = 255;
/** How much of a bad path a message quotes. */
const QUOTED_MAX = 128;

function quoted(value: string): string {
  return JSON.stringify(value.length > QUOTED_MAX ? `${value.slice(0, QUOTED_MAX)}…` : value);
}

export function requireField(name: string, value: string): string {
  if (value === "") throw new InvalidArgumentError(`${name} is required`);
  return value;
}

/**
 * An absolute path the kernel can take: no NUL (a C string ends there, so the path would name
 * another file), at most PATH_MAX bytes and NAME_MAX bytes per component (longer ones fail with
 * ENAMETOOLONG only once something is done with them), and no "..".
 */
function requireAbsolutePath(name: string, value: string): string {
  requireField(name, value);
  if (value.includes("\0")) throw new InvalidArgumentError(`${name} must not contain a NUL byte, got ${quoted(value.replaceAll("\0", "\\0"))}`);
  if (Buffer.byteLength(value) > PATH_MAX) throw new InvalidArgumentError(`${name} is longer than ${PATH_MAX} bytes (PATH_MAX), got ${quoted(value)}`);
  if (value.split("/").some((part) => Buffer.byteLength(part) > NAME_MAX)) throw new InvalidArgumentError(`${name} has a component longer than ${NAME_MAX} bytes (NAME_MAX), got ${quoted(value)}`);
  if (!isAbsolute(value) || value.split("/").includes("..")) throw new InvalidArgumentError(`${name} must be an absolute path without "..", got ${quoted(value)}`);
  return value;
}

/**
 * A staging or target path the node may act on: syntactically valid, its parent resolving (symlinks
 * followed) inside the kubelet directory `kubeletDir` (already canonical), and the path itself not a
 * symbolic link (a mount or a removal there would act on wherever the link points). Kubelet makes every
 * path it passes under its root directory, so anything else is a request the node must not act on.
 * A parent that does not exist yet (NodePublish makes it) is judged by its nearest existing ancestor.
 */
export async function requireKubeletPath(kubeletDir: string, name: string, value: string): Promise<string> {
  requireAbsolutePath(name, value);
  const parent = await resolveExisting(name, dirname(value));
  if (parent !== kubeletDir && !parent.startsWith(`${kubeletDir}/`)) {
    throw new InvalidArgumentError(`${name} ${quoted(value)} is not under the kubelet directory ${kubeletDir} (its parent resolves to ${quoted(parent)})`);
  }
  const info = await lstat(value).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (info?.isSymbolicLink() === true) throw new InvalidArgumentError(`${name} ${quoted(value)} is a symbolic link; the node does not follow it`);
  return value;
}

/** The canonical form of the nearest existing ancestor of `path` (itself included). */
async function resolveExisting(name: string, path: string): Promise<string> {
  for (let at = path; ; at = dirname(at)) {
    try {
      return await realpath(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTDIR") throw new InvalidArgumentError(`${name}: ${quoted(at)} is below something that is not a directory`);
      if (code !== "ENOENT" || at === "/") throw err;
    }
  }
}

export type AccessType = { readonly kind: "block" } | { readonly kind: "mount"; readonly fsType: string; readonly mountFlags: readonly string[] };

/** The access type of a capability: exactly one of block and mount. */
export function accessTypeOf(capability: csi.VolumeCapability | undefined): AccessType {
  if (capability === undefined) throw new InvalidArgumentError("volume_capability is required");
  if (capability.accessMode === undefined) throw new InvalidArgumentError("volume_capability.access_mode is required");
  if (capability.block !== undefined && capability.mount !== undefined) throw new InvalidArgumentError("volume_capability must be block or mount, not both");
  if (capability.block !== undefined) return { kind: "block" };
  if (capability.mount !== undefined) return { kind: "mount", fsType: capability.mount.fsType, mountFlags: capability.mount.mountFlags };
  throw new InvalidArgumentError("volume_capability needs block or mount access");
}

/**
 * The filesystem (capability's, else the volume context's, else the default) and mount flags of a mount
 * capability, checked before any side effect: the flags against the volume's mountOptionsPolicy and the
 * filesystem's accepted options (core `checkMountOptions`, the controller's check at CreateVolume too).
 */
export function filesystemMountOf(access: Extract<AccessType, { kind: "mount" }>, context: NodeVolumeContext): { fsType: FsType; mountFlags: readonly string[] } {
  const fromContext = context.fsType;
  if (access.fsType !== "" && fromContext !== undefined && access.fsType !== fromContext) {
    throw new InvalidArgumentError(`volume_capability fs_type ${quoted(access.fsType)} contradicts volume_context fsType "${fromContext}"`);
  }
  const fsType = access.fsType || fromContext || DEFAULT_FS_TYPE;
  if (!isFsType(fsType)) throw new InvalidArgumentError(`fs type ${quoted(fsType)} is not supported`);
  checkMountOptions({ fsType, flags: access.mountFlags, policy: context.mountOptionsPolicy, field: "volume_capability.mount.mount_flags" });
  return { fsType, mountFlags: access.mountFlags };
}
