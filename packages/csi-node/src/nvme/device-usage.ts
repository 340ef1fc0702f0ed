import type { MountInfoEntry } from "../mount/parse-mountinfo.js";
import type { DeviceResolver } from "./device-identity.js";
import type { DeviceNodes } from "./device-nodes.js";
import type { DeviceState, MountRef } from "./disconnect-policy.js";
import type { Sysfs } from "./sysfs.js";

/** What the kernel says uses a subsystem's block device; `undefined` where it could not be read. */
export interface DeviceUsage {
  readonly device: DeviceState | undefined;
  readonly holders: readonly string[] | undefined;
  readonly exclusivelyOpened: boolean | undefined;
}

/**
 * Reads the device of `nqn`, its holders, and whether something holds it open exclusively. The last
 * one sees what the mount table cannot: a filesystem mounted in another mount namespace (a container
 * that kept a private copy of the mount) still holds the block device exclusively, and an O_EXCL open
 * then fails with EBUSY.
 */
export async function readDeviceUsage(resolver: Pick<DeviceResolver, "resolve" | "deviceNodes">, sysfs: Pick<Sysfs, "list">, nqn: string): Promise<DeviceUsage & { readonly error?: unknown }> {
  let identity;
  try {
    identity = await resolver.resolve(nqn);
  } catch (error) {
    return { device: undefined, holders: undefined, exclusivelyOpened: undefined, error };
  }
  if (identity === undefined) return { device: { kind: "absent" }, holders: [], exclusivelyOpened: false };
  const device: DeviceState = { kind: "present", majorMinor: identity.majorMinor, devicePath: identity.devicePath };
  const holders = await sysfs.list(`class/block/${identity.name}/holders`).catch(() => undefined);
  return { device, holders, exclusivelyOpened: await resolver.deviceNodes.openedExclusively(identity.devicePath) };
}

/** How long the stat() calls of readMountRefs may take in all (a hung network filesystem never answers). */
export const MOUNT_STAT_DEADLINE_MS = 5_000;

/**
 * Filesystems a device node is never bound from, and whose stat() can block a libuv thread for good
 * when their server is gone: not stat'ed at all, so a dead NFS share cannot use up the plugin's
 * threads one unstage at a time.
 */
const NETWORK_FILESYSTEM = /^(?:nfs4?|cifs|smb3|ceph|glusterfs|9p|fuse(?:\..+)?|fuseblk)$/;

/**
 * The mount table as decideDisconnect compares it, with the device each bind-mounted block device node
 * points to. A raw block volume's target is such a bind, and mountinfo shows it only as a file of the
 * filesystem holding the node (`0:N /nvme3n1` on devtmpfs): stat() of the mount point is the only way
 * to see the device. A mount whose root is `/` is a whole filesystem, never a node, and is not stat'ed,
 * nor is a mount of a network filesystem;
 * a mount point that does not answer within the deadline is undefined (unverifiable).
 */
export async function readMountRefs(table: readonly MountInfoEntry[], nodes: DeviceNodes, deadlineMs = MOUNT_STAT_DEADLINE_MS): Promise<MountRef[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, deadlineMs, undefined)));
  try {
    const bound = new Map<string, Promise<string | null | undefined>>();
    for (const m of table) {
      if (mayBeDeviceNode(m) && !bound.has(m.mountPoint)) bound.set(m.mountPoint, Promise.race([nodes.numberAt(m.mountPoint).catch(() => undefined), late]));
    }
    return await Promise.all(table.map(async (m) => ({ mountPoint: m.mountPoint, majorMinor: m.majorMinor, source: m.source, boundDevice: mayBeDeviceNode(m) ? await bound.get(m.mountPoint)! : null })));
  } finally {
    clearTimeout(timer);
  }
}

function mayBeDeviceNode(m: MountInfoEntry): boolean {
  return m.root !== "/" && !NETWORK_FILESYSTEM.test(m.fsType);
}
