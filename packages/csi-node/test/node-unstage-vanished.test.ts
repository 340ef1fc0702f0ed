import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { buildPublishContext, FailedPreconditionError } from "@rds-csi/core";
import { loopsLeftOver, describeAsRoot } from "@rds-csi/testkit";
import { stagingMetadataPath } from "../src/staging/staging-metadata.js";
import { useNodeRig } from "./support/node-test-rig.js";

// Real loop devices, mkfs and mounts through the fake fabric: root only.
const VOLUME = "pvc-vanish-1";
const NQN = `nqn.2000-02.com.mikrotik:${VOLUME}`;
const OTHER = "pvc-vanish-2";
const OTHER_NQN = `nqn.2000-02.com.mikrotik:${OTHER}`;

describeAsRoot("NodeUnstage when the device vanished before it", () => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-vanish-", diskSize: "32M" });
  const { call, newHost, fsCapability, blockCapability, stagingDir, stage, unstage, mountsUnder, volumeContext } = rig;

  const stageOther = async (host: Awaited<ReturnType<typeof newHost>>, stagingPath: string) => {
    await rig.routerOs(
      `/disk add type=file slot="${OTHER}" file-path="/raid10/vols/${OTHER}.img" file-size=32M nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${OTHER_NQN}"`,
    );
    await host.node.nodeStageVolume(
      {
        volumeId: OTHER,
        publishContext: buildPublishContext({ address: "127.0.0.1", port: 4420, nqn: OTHER_NQN }),
        stagingTargetPath: stagingPath,
        volumeCapability: fsCapability(),
        secrets: {},
        volumeContext,
      },
      call(),
    );
    return rig.sim.disks().find((disk) => disk.slot === OTHER)!.backingFile;
  };

  it.each(["filesystem", "block"] as const)("%s: unstage succeeds, mount and metadata gone, the other volume untouched", async (mode) => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const otherStaging = await stagingDir("other");
    await stage(a, staging, mode === "block" ? blockCapability() : fsCapability());
    const otherFile = await stageOther(a, otherStaging);
    const otherMetadata = await readFile(stagingMetadataPath(otherStaging, OTHER), "utf8");

    // The controller goes away under the staged volume (target deleted it, host lost it for good).
    expect(await a.fabric.disconnect(NQN)).toBe(1);
    expect(await a.fabric.namespace(NQN)).toBeUndefined();

    expect(await unstage(a, staging)).toEqual({});
    expect(await mountsUnder()).toEqual([otherStaging]);
    await expect(stat(stagingMetadataPath(staging, VOLUME))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await loopsLeftOver(rig.backingFile)).toEqual([]);
    // Nothing else touched: the other volume is still staged from the same device, with its metadata.
    expect((await a.fabric.namespace(OTHER_NQN))?.state).toBe("live");
    expect(await readFile(stagingMetadataPath(otherStaging, OTHER), "utf8")).toBe(otherMetadata);

    // Repeated: still OK.
    expect(await unstage(a, staging)).toEqual({});

    await a.node.nodeUnstageVolume({ volumeId: OTHER, stagingTargetPath: otherStaging }, call());
    expect(await mountsUnder()).toEqual([]);
    expect(await loopsLeftOver(otherFile)).toEqual([]);
  }, 60_000);

  it("a busy staging mount whose controller is only reconnecting is not detached lazily: FAILED_PRECONDITION, mount and metadata kept", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging);
    const metadata = await readFile(stagingMetadataPath(staging, VOLUME), "utf8");
    // The kernel is retrying the connection (within ctrl_loss_tmo): the device may come back and
    // flush what the still-open file holds, so the mount must not be hidden and the volume let go.
    await a.fabric.loseConnection(NQN);
    const busy = await open(join(staging, "open.txt"), "w");
    try {
      const refused = unstage(a, staging);
      await expect(refused).rejects.toThrow(FailedPreconditionError);
      await expect(refused).rejects.toThrow(/unmount of .* failed/);
      expect(await mountsUnder()).toEqual([staging]);
      // Kept, marked as being unstaged: kubelet retries, and nothing reconnects or remounts it meanwhile.
      expect(JSON.parse(await readFile(stagingMetadataPath(staging, VOLUME), "utf8"))).toEqual({ ...JSON.parse(metadata), unstagingSince: expect.any(String) });
      expect((await a.fabric.namespace(NQN))?.state).toBe("connecting");
    } finally {
      await busy.close();
    }
    // Once nothing holds it, the retried unstage completes.
    expect(await unstage(a, staging)).toEqual({});
    expect(await mountsUnder()).toEqual([]);
    expect(await loopsLeftOver(rig.backingFile)).toEqual([]);
  }, 60_000);
});
