import { describeAsRoot } from "@rds-csi/testkit";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { FailedPreconditionError } from "@rds-csi/core";
import { useNodeRig } from "./support/node-test-rig.js";

// Real loop devices through the fake fabric: root only.
const VOLUME = "pvc-conflict-1";

describeAsRoot("NodeStage of a volume whose NQN another staged volume holds", () => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-conflict-", diskSize: "32M" });
  const { call, newHost, fsCapability, blockCapability, stagingDir, stage, unstage, publishContext, volumeContext, mountsUnder } = rig;
  const digest = async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex");

  it("is FAILED_PRECONDITION and leaves the staged block volume's device alone (blkid reads it as empty)", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging, blockCapability());
    const before = await digest(rig.backingFile);

    const otherStaging = await stagingDir("other");
    await expect(
      a.node.nodeStageVolume(
        { volumeId: "pvc-conflict-2", publishContext: publishContext(), stagingTargetPath: otherStaging, volumeCapability: fsCapability(), secrets: {}, volumeContext },
        call(),
      ),
    ).rejects.toThrow(new FailedPreconditionError(`${rig.nqn} is already staged on this node for ${VOLUME}, not pvc-conflict-2`));

    expect(await digest(rig.backingFile)).toBe(before);
    expect(await mountsUnder()).toEqual([]);
    expect(a.connects).toBe(1);
    expect(await unstage(a, staging)).toEqual({});
  }, 60_000);
});
