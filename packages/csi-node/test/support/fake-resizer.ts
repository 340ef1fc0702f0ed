import { InternalError, type FsType } from "@rds-csi/core";
import { assertAbsolutePath } from "../../src/mount/mounter.js";
import { FilesystemResizer } from "../../src/mount/resize-filesystem.js";
import type { FakeMounter } from "./fake-mounter.js";
import type { VirtualDisks } from "./virtual-devices.js";

/**
 * FilesystemResizer for a host whose mounts are a FakeMounter's: nothing is really mounted, so the real
 * tools cannot grow online. It grows only what is mounted, as NodeExpandVolume means to, and records it:
 * - resize2fs(8) grows a mounted ext filesystem online; an unmounted one it resizes offline, and once
 *   that filesystem was mounted since its last check it first demands one ("Please run 'e2fsck -f
 *   <device>' first."). The fake refuses every unmounted one: stricter than resize2fs on a filesystem
 *   never mounted, which no staged volume is;
 * - xfs_growfs(8) takes the mount point of a mounted XFS filesystem ("… is not a mounted XFS filesystem").
 */
export class FakeResizer extends FilesystemResizer {
  readonly grown: { fsType: FsType; device: string; mountPoint: string | undefined }[] = [];

  constructor(
    private readonly disks: VirtualDisks,
    private readonly mounter: FakeMounter,
  ) {
    super({ run: () => Promise.reject(new Error("FakeResizer runs no program")) });
  }

  override async grow(fsType: FsType, device: string, mountPoint: string | undefined): Promise<void> {
    assertAbsolutePath("device", device);
    const disk = await this.disks.numberAt(device);
    if (fsType === "xfs") {
      const top = mountPoint === undefined ? undefined : (await this.mounter.mountsOf(mountPoint)).at(-1);
      if (top?.fsType !== "xfs" || top.majorMinor !== disk) throw new InternalError(`xfs_growfs on ${device} failed (exit 1): xfs_growfs: ${mountPoint ?? "(none)"} is not a mounted XFS filesystem`);
    } else if (typeof disk !== "string" || !this.mounter.hasFilesystemOf(disk)) {
      throw new InternalError(`resize2fs on ${device} failed (exit 1): Please run 'e2fsck -f ${device}' first.`);
    }
    this.grown.push({ fsType, device, mountPoint });
  }
}
