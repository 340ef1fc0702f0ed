import { stat } from "node:fs/promises";
import type { Exec } from "@rds-csi/core";
import type { FakeFabric } from "@rds-csi/testkit";
import { classify, parseExport } from "../../src/mount/probe-filesystem.js";
import type { DeviceNodes } from "../../src/nvme/device-nodes.js";
import type { FakeMounter, FakeMounterDevices } from "./fake-mounter.js";

/**
 * A host whose block devices are the fake fabric's virtual disks (testkit namespace-disks.ts: numbers
 * without a kernel device, the node a symlink to the export's file): what is at a path, and what
 * filesystem a disk holds (blkid, run on the node, reads the export's file).
 */
export class VirtualDisks implements FakeMounterDevices {
  constructor(
    private readonly fabric: Pick<FakeFabric, "deviceNumberAt">,
    private readonly exec: Exec,
  ) {}

  async numberAt(path: string): Promise<string | null | undefined> {
    const disk = await this.fabric.deviceNumberAt(path);
    if (disk !== undefined) return disk;
    return stat(path).then(
      () => null,
      (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT" || err.code === "ENOTDIR") return undefined;
        throw err;
      },
    );
  }

  /** The TYPE blkid reports when it finds a filesystem (blkid(8): exit 2 = nothing found), else undefined. */
  async filesystemOn(path: string): Promise<string | undefined> {
    const result = await this.exec.run("blkid", ["-p", "-o", "export", path], { timeoutMs: 10_000 });
    if (result.code !== 0) return undefined;
    const found = classify(parseExport(result.stdout));
    return found.kind === "filesystem" ? found.type : undefined;
  }
}

/**
 * DeviceNodes of such a host, as the kernel would answer: stat(2) of a disk node (also through by-id
 * links) is the disk; of a target a disk node is bind-mounted on, that disk (the FakeMounter knows);
 * anything else exists or not. An O_EXCL open of a disk fails with EBUSY while a filesystem on it is
 * mounted (fs/super.c get_tree_bdev opens the device exclusively for the superblock; block/bdev.c
 * bd_prepare_to_claim refuses another exclusive opener).
 */
export class VirtualDeviceNodes implements DeviceNodes {
  constructor(
    private readonly disks: VirtualDisks,
    private readonly mounter: FakeMounter,
  ) {}

  async numberAt(path: string): Promise<string | null | undefined> {
    return (await this.mounter.boundDeviceAt(path)) ?? this.disks.numberAt(path);
  }

  async openedExclusively(path: string): Promise<boolean | undefined> {
    const disk = await this.disks.numberAt(path);
    if (typeof disk !== "string") return undefined;
    return this.mounter.hasFilesystemOf(disk);
  }
}
