import { describeAsRoot } from "@rds-csi/testkit";
import { execFileSync } from "node:child_process";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildPublishContext } from "@rds-csi/core";
import { useNodeRig } from "./support/node-test-rig.js";

// Real loop devices, mkfs.xfs and mounts through the fake fabric: root only.
const VOLUME = "pvc-xfs-source";
const CLONE = "pvc-xfs-clone";

describeAsRoot("an xfs volume and its clone on one node", () => {
  // xfs needs at least 300 MB to be made.
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-xfs-clone-", diskSize: "320M" });

  it("both stage: the clone's filesystem UUID equals its source's, which XFS refuses without nouuid", async () => {
    const a = await rig.newHost("node-a");
    const staging = await rig.stagingDir("source");
    await rig.stage(a, staging, rig.fsCapability("xfs"));
    await writeFile(join(staging, "kept.txt"), "from the source");
    execFileSync("sync", ["-f", staging]);
    // The RDS copies the disk (what CreateVolume from a snapshot or a volume makes): same bytes, same UUID.
    await rig.routerOs(`/disk add type=file slot="${CLONE}" file-path="/raid10/vols/${CLONE}.img" file-size=320M nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="nqn.2000-02.com.mikrotik:${CLONE}"`);
    await copyFile(rig.backingFile, rig.sim.disks().find((disk) => disk.slot === CLONE)!.backingFile);

    const cloneStaging = await rig.stagingDir("clone");
    await a.node.nodeStageVolume(
      {
        volumeId: CLONE,
        publishContext: buildPublishContext({ address: "127.0.0.1", port: 4420, nqn: `nqn.2000-02.com.mikrotik:${CLONE}` }),
        stagingTargetPath: cloneStaging,
        volumeCapability: rig.fsCapability("xfs"),
        secrets: {},
        volumeContext: rig.volumeContext,
      },
      rig.call(),
    );
    expect(await readFile(join(cloneStaging, "kept.txt"), "utf8")).toBe("from the source");
    expect((await rig.mountOf(staging))?.fsType).toBe("xfs");
    expect((await rig.mountOf(cloneStaging))?.fsType).toBe("xfs");
    await a.node.nodeUnstageVolume({ volumeId: CLONE, stagingTargetPath: cloneStaging }, rig.call());
    await rig.unstage(a, staging);
  }, 90_000);
});
