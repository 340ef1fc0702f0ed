import { execFileSync } from "node:child_process";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { AlreadyExistsError, csi, FailedPreconditionError, UnavailableError } from "@rds-csi/core";
import { stagingMetadataPath } from "../src/staging/staging-metadata.js";
import { loopsLeftOver, describeAsRoot } from "@rds-csi/testkit";
import { readAt, writeAt } from "./support/block-io.js";
import { useNodeRig } from "./support/node-test-rig.js";

// Real loop devices, mkfs and mounts through the fake fabric: root only.
const VOLUME = "pvc-stage-1";
const NQN = `nqn.2000-02.com.mikrotik:${VOLUME}`;

// Both sysfs layouts of the kernel: the namespace head under the subsystem (native multipath) and the
// controller's own disk under the controller (nvme_core.multipath=N; a target without CMIC is alike).
describeAsRoot.each(["native-multipath", "no-multipath"] as const)("NodeStage/Publish over the fake fabric with real ext4 (%s)", (layout) => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-stage-", diskSize: "64M", layout });
  const { newHost, fsCapability, blockCapability, mountsUnder, stagingDir, stage, unstage, publish, unpublish } = rig;

  it("stage → publish → write → unpublish → unstage → stage on another host: data intact", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, "pods", "a", "mount");

    expect(await stage(a, staging)).toEqual({});
    expect(await publish(a, staging, target)).toEqual({});
    await writeFile(join(target, "hello.txt"), "kept across nodes");
    expect(await unpublish(a, target)).toEqual({});
    await expect(stat(target)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await unstage(a, staging)).toEqual({});

    expect(await mountsUnder()).toEqual([]);
    expect(await loopsLeftOver(rig.backingFile)).toEqual([]);
    expect(await a.node.nodeGetInfo()).toEqual({ nodeId: "node-a", maxVolumesPerNode: 10n, accessibleTopology: { segments: { "topology.rds.csi.srvlab.io/rds": "rack1" } } });

    const b = await newHost("node-b");
    const stagingB = await stagingDir("b");
    const targetB = join(rig.dir, "pods", "b", "mount");
    await stage(b, stagingB);
    expect(rig.sim.connections(NQN)).toEqual([b.fabric.hostNqn]);
    await publish(b, stagingB, targetB, fsCapability(), true);
    expect(await readFile(join(targetB, "hello.txt"), "utf8")).toBe("kept across nodes");
    await expect(writeFile(join(targetB, "other.txt"), "x")).rejects.toMatchObject({ code: "EROFS" });
    await unpublish(b, targetB);
    await unstage(b, stagingB);
    expect(await mountsUnder()).toEqual([]);
  }, 60_000);

  it("a repeated stage is OK without a second connect; unstage twice is OK", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging);
    await stage(a, staging);
    expect(a.connects).toBe(1);
    expect((await mountsUnder()).filter((p) => p === staging)).toHaveLength(1);
    expect(await unstage(a, staging)).toEqual({});
    expect(await unstage(a, staging)).toEqual({});
    expect(await loopsLeftOver(rig.backingFile)).toEqual([]);
  }, 60_000);

  it("block mode: stage + publish, then read and write the device through the target", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, "pods", "a", "block", VOLUME);
    await stage(a, staging, blockCapability());
    await publish(a, staging, target, blockCapability());
    await publish(a, staging, target, blockCapability()); // existing correct target → OK, not stacked
    expect((await mountsUnder()).filter((p) => p === target)).toHaveLength(1);
    expect((await stat(target)).isBlockDevice()).toBe(true);

    const pattern = Buffer.alloc(4096, 0x5a);
    await writeAt(target, pattern);
    expect((await readAt(target, pattern.length)).equals(pattern)).toBe(true);
    expect((await readAt(rig.backingFile, pattern.length)).equals(pattern)).toBe(true); // on the RDS's file

    await unpublish(a, target);
    await expect(stat(target)).rejects.toMatchObject({ code: "ENOENT" });
    await unstage(a, staging);
    expect(await loopsLeftOver(rig.backingFile)).toEqual([]);
  }, 60_000);

  it("block publish never replaces a bind at the target that is not this volume's", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, "pods", "a", "block", VOLUME);
    await stage(a, staging, blockCapability());
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, "");
    execFileSync("mount", ["--bind", "/dev/null", target]); // someone else's bind
    await expect(publish(a, staging, target, blockCapability())).rejects.toThrow(/is already a mount of something that is not a block device, not of volume/);
    expect((await stat(target)).isCharacterDevice()).toBe(true);
    execFileSync("umount", [target]);
    await publish(a, staging, target, blockCapability());
    expect((await stat(target)).isBlockDevice()).toBe(true);
    await unpublish(a, target);
    await unstage(a, staging);
  }, 60_000);

  it("single-node-single-writer: a second target on the node is FAILED_PRECONDITION until the first is unpublished; multi-writer allows both", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const first = join(rig.dir, "pods", "a", "mount");
    const second = join(rig.dir, "pods", "b", "mount");
    const mode = (m: csi.VolumeCapability_AccessMode_Mode): csi.VolumeCapability => ({ ...fsCapability(), accessMode: { mode: m } });
    const singleWriter = mode(csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_SINGLE_WRITER);
    await stage(a, staging, singleWriter);
    await publish(a, staging, first, singleWriter);
    await publish(a, staging, first, singleWriter); // the same target again is fine
    await expect(publish(a, staging, second, singleWriter)).rejects.toThrow(/single-node-single-writer and already published at/);
    expect(await mountsUnder()).not.toContain(second);
    await unpublish(a, first);
    await publish(a, staging, second, singleWriter);

    const multiWriter = mode(csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_MULTI_WRITER);
    await publish(a, staging, first, multiWriter);
    expect((await mountsUnder()).filter((p) => p === first || p === second)).toHaveLength(2);
    await unpublish(a, first);
    await unpublish(a, second);
    await unstage(a, staging);
    expect(await mountsUnder()).toEqual([]);
  }, 60_000);

  it("a repeat incompatible with what is already staged or published is ALREADY_EXISTS (CSI spec) and changes nothing", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, "pods", "a", "mount");
    await stage(a, staging);
    await publish(a, staging, target);
    const metadata = await readFile(stagingMetadataPath(staging, VOLUME), "utf8");
    const connects = a.connects;

    await expect(stage(a, staging, fsCapability("xfs"))).rejects.toThrow(AlreadyExistsError);
    await expect(stage(a, staging, blockCapability())).rejects.toThrow(AlreadyExistsError);
    await expect(publish(a, staging, target, fsCapability(), true)).rejects.toThrow(AlreadyExistsError);

    expect(a.connects).toBe(connects);
    expect(await mountsUnder()).toEqual([staging, target]);
    expect(await readFile(stagingMetadataPath(staging, VOLUME), "utf8")).toBe(metadata);
    await unpublish(a, target);
    await unstage(a, staging);
    expect(await mountsUnder()).toEqual([]);
  }, 60_000);

  it("a publish context naming an address where no target listens fails UNAVAILABLE and leaves nothing connected", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const publishContext = { ...rig.publishContext(), nvme_address: "127.0.0.2" }; // the RDS answers on 127.0.0.1 only
    await expect(
      a.node.nodeStageVolume({ volumeId: VOLUME, publishContext, stagingTargetPath: staging, volumeCapability: rig.fsCapability(), secrets: {}, volumeContext: rig.volumeContext }, rig.call()),
    ).rejects.toThrow(UnavailableError);
    expect(await a.fabric.namespace(NQN)).toBeUndefined();
    expect((await a.fabric.state()).controllers).toEqual([]);
    expect(rig.sim.connections(NQN)).toEqual([]);
    await expect(stat(stagingMetadataPath(staging, VOLUME))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("publish before stage is FAILED_PRECONDITION; unpublish of a missing target is OK", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, "pods", "a", "mount");
    await expect(publish(a, staging, target)).rejects.toThrow(FailedPreconditionError);
    expect(await unpublish(a, target)).toEqual({});
    expect(a.connects).toBe(0);
  });

  it("advertises STAGE_UNSTAGE_VOLUME and SINGLE_NODE_MULTI_WRITER", async () => {
    const a = await newHost("node-a");
    const { capabilities } = await a.node.nodeGetCapabilities();
    expect(capabilities).toContainEqual({ rpc: { type: csi.NodeServiceCapability_RPC_Type.STAGE_UNSTAGE_VOLUME } });
    expect(capabilities).toContainEqual({ rpc: { type: csi.NodeServiceCapability_RPC_Type.SINGLE_NODE_MULTI_WRITER } });
  });
});
