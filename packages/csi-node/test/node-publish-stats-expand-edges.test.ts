import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { AlreadyExistsError, csi, FailedPreconditionError, InvalidArgumentError, NotFoundError } from "@rds-csi/core";
import { stagingMetadataPath } from "../src/staging/staging-metadata.js";
import { describeOnEachHostKind } from "./support/each-host-kind.js";
import { useNodeRig, type TestHost } from "./support/node-test-rig.js";

const VOLUME = "pvc-publish-edges";
const NQN = `nqn.2000-02.com.mikrotik:${VOLUME}`;
const Mode = csi.VolumeCapability_AccessMode_Mode;
const MiB = 1024n * 1024n;

describeOnEachHostKind("NodePublish/NodeUnpublish/NodeGetVolumeStats/NodeExpand edge cases", (devices) => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-publish-edges-", diskSize: "64M", devices });
  const { call, newHost, fsCapability, blockCapability, mountsUnder, stagingDir, stage, unstage, publish, unpublish, stats } = rig;
  const podTarget = (pod: string) => join(rig.dir, "pods", pod, "volumes", "kubernetes.io~csi", VOLUME, "mount");
  const blockTarget = (pod: string) => join(rig.dir, "plugins", "kubernetes.io", "csi", "volumeDevices", "publish", VOLUME, pod);
  const withMode = (capability: csi.VolumeCapability, mode: csi.VolumeCapability_AccessMode_Mode): csi.VolumeCapability => ({ ...capability, accessMode: { mode } });
  const expand = (host: TestHost, volumePath: string, stagingPath: string, over: Partial<csi.NodeExpandVolumeRequest> = {}) =>
    host.node.nodeExpandVolume({ volumeId: VOLUME, volumePath, stagingTargetPath: stagingPath, capacityRange: { requiredBytes: 128n * MiB, limitBytes: 0n }, volumeCapability: fsCapability(), secrets: {}, ...over }, call());
  const staged = async (capability = fsCapability()) => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging, capability);
    return { a, staging };
  };

  describe("NodePublishVolume", () => {
    it.each([
      ["no volume_id", { volumeId: "" }, /volume_id is required/],
      ["no target_path", { targetPath: "" }, /target_path is required/],
      ["no staging_target_path", { stagingTargetPath: "" }, /staging_target_path is required/],
      ["no volume_capability", { volumeCapability: undefined }, /volume_capability is required/],
      ["a target outside the kubelet directory", { targetPath: "/tmp/elsewhere/mount" }, /target_path "\/tmp\/elsewhere\/mount" is not under the kubelet directory/],
    ])("refuses %s as INVALID_ARGUMENT and makes nothing", async (_name, over, message) => {
      const { a, staging } = await staged();
      const request = { volumeId: VOLUME, publishContext: rig.publishContext(), stagingTargetPath: staging, targetPath: podTarget("p1"), volumeCapability: fsCapability(), readonly: false, secrets: {}, volumeContext: rig.volumeContext, ...over };
      const refused = a.node.nodePublishVolume(request, call());
      await expect(refused).rejects.toThrow(InvalidArgumentError);
      await expect(refused).rejects.toThrow(message);
      expect(await mountsUnder()).toEqual([staging]);
      await expect(stat(podTarget("p1"))).rejects.toMatchObject({ code: "ENOENT" });
    }, 60_000);

    it("before NodeStage is FAILED_PRECONDITION, and so is a staging path whose metadata is gone", async () => {
      const a = await newHost("node-a");
      const staging = await stagingDir("a");
      await expect(publish(a, staging, podTarget("p1"))).rejects.toThrow(new FailedPreconditionError(`volume ${VOLUME} is not staged at ${staging}`));
      await stage(a, staging);
      await rm(stagingMetadataPath(staging, VOLUME));
      await expect(publish(a, staging, podTarget("p1"))).rejects.toThrow(FailedPreconditionError);
      expect(await mountsUnder()).toEqual([staging]);
    }, 60_000);

    it("with the other access type than staged is FAILED_PRECONDITION (filesystem ↔ block)", async () => {
      const { a, staging } = await staged();
      await expect(publish(a, staging, blockTarget("p1"), blockCapability())).rejects.toThrow(`volume ${VOLUME} is staged as filesystem, not block`);
      await unstage(a, staging);
      await stage(a, staging, blockCapability());
      await expect(publish(a, staging, podTarget("p1"), fsCapability())).rejects.toThrow(`volume ${VOLUME} is staged as block, not filesystem`);
      expect(await mountsUnder()).toEqual([]);
    }, 60_000);

    it("read-only: the bind is read-only; the same repeat is OK, a read-write repeat is ALREADY_EXISTS", async () => {
      const { a, staging } = await staged();
      const target = podTarget("p1");
      await publish(a, staging, target, fsCapability(), true);
      await publish(a, staging, target, fsCapability(), true);
      const mounts = (await rig.mountOf(target))!;
      expect(mounts.mountOptions).toContain("ro");
      expect((await rig.mountOf(staging))!.mountOptions).toContain("rw");
      expect(mounts.majorMinor).toBe((await rig.mountOf(staging))!.majorMinor);
      await expect(publish(a, staging, target, fsCapability(), false)).rejects.toThrow(AlreadyExistsError);
      expect((await mountsUnder()).filter((p) => p === target)).toHaveLength(1);
      // A read-only publish is not a volume problem; the staging mount stays read-write.
      expect((await stats(a, target, staging)).volumeCondition).toEqual({ abnormal: false, message: "volume is healthy" });
      await unpublish(a, target);
      expect(await mountsUnder()).toEqual([staging]);
    }, 60_000);

    it("does not bind over a directory with files in it, nor over a target mounted from something else", async () => {
      const { a, staging } = await staged();
      const full = podTarget("p1");
      await mkdir(full, { recursive: true });
      await writeFile(join(full, "someone-elses.txt"), "kept");
      await expect(publish(a, staging, full)).rejects.toThrow(/is a directory with files in it; not mounting over them/);
      expect(await readFile(join(full, "someone-elses.txt"), "utf8")).toBe("kept");

      const foreign = podTarget("p2");
      await mkdir(foreign, { recursive: true });
      await mkdir(join(rig.dir, "foreign-source"));
      await a.ctx.mounter.bindMount(join(rig.dir, "foreign-source"), foreign, { readonly: false });
      await expect(publish(a, staging, foreign)).rejects.toThrow(/is already mounted .* not from volume pvc-publish-edges/);
      expect(await mountsUnder()).toEqual([staging, foreign]);
      await a.ctx.mounter.unmount(foreign);
    }, 60_000);

    it("single-node-single-writer: a second target is FAILED_PRECONDITION while the first is published", async () => {
      const singleWriter = withMode(fsCapability(), Mode.SINGLE_NODE_SINGLE_WRITER);
      const { a, staging } = await staged(singleWriter);
      await publish(a, staging, podTarget("p1"), singleWriter);
      await expect(publish(a, staging, podTarget("p2"), singleWriter)).rejects.toThrow(`volume ${VOLUME} is single-node-single-writer and already published at ${podTarget("p1")}`);
      await unpublish(a, podTarget("p1"));
      await publish(a, staging, podTarget("p2"), singleWriter);
      expect(await mountsUnder()).toEqual([staging, podTarget("p2")]);
    }, 60_000);

    it("block: the device node is bound onto a file target; a repeat is OK, read-only is honoured, a non-empty file is refused", async () => {
      const { a, staging } = await staged(blockCapability());
      const target = blockTarget("p1");
      await publish(a, staging, target, blockCapability());
      await publish(a, staging, target, blockCapability());
      expect(await mountsUnder()).toEqual([target]);
      const device = (await rig.resolve(a))!;
      expect(await a.ctx.resolver.deviceNodes.numberAt(target)).toBe(device.majorMinor);
      expect((await stat(target)).isDirectory()).toBe(false);

      const readonlyTarget = blockTarget("p2");
      await publish(a, staging, readonlyTarget, blockCapability(), true);
      expect((await rig.mountOf(readonlyTarget))!.mountOptions).toContain("ro");

      const used = blockTarget("p3");
      await mkdir(dirname(used), { recursive: true });
      await writeFile(used, "not an empty file");
      await expect(publish(a, staging, used, blockCapability())).rejects.toThrow(/is not an empty file; not binding the device over it/);

      await unpublish(a, target);
      await unpublish(a, readonlyTarget);
      await expect(stat(target)).rejects.toMatchObject({ code: "ENOENT" });
      expect(await mountsUnder()).toEqual([]);
      await unstage(a, staging);
      expect((await a.fabric.state()).controllers).toEqual([]);
    }, 60_000);
  });

  describe("NodeUnpublishVolume", () => {
    it("is OK for a missing target, twice, and for a volume not staged here; INVALID_ARGUMENT without volume_id or target", async () => {
      const { a, staging } = await staged();
      const target = podTarget("p1");
      expect(await unpublish(a, target)).toEqual({});
      await publish(a, staging, target);
      expect(await unpublish(a, target)).toEqual({});
      expect(await unpublish(a, target)).toEqual({});
      await expect(stat(target)).rejects.toMatchObject({ code: "ENOENT" });
      await expect(a.node.nodeUnpublishVolume({ volumeId: "", targetPath: target }, call())).rejects.toThrow(/volume_id is required/);
      await expect(a.node.nodeUnpublishVolume({ volumeId: VOLUME, targetPath: "" }, call())).rejects.toThrow(/target_path is required/);
      expect(await mountsUnder()).toEqual([staging]);
    }, 60_000);

    it("unpublish of a target still in use is FAILED_PRECONDITION and keeps it; once released it goes", async () => {
      const { a, staging } = await staged();
      const target = podTarget("p1");
      await publish(a, staging, target);
      const release = await rig.holdBusy(a, target);
      try {
        await expect(unpublish(a, target)).rejects.toThrow(FailedPreconditionError);
        await expect(unpublish(a, target)).rejects.toThrow(/target is busy/);
        expect(await mountsUnder()).toEqual([staging, target]);
      } finally {
        await release();
      }
      expect(await unpublish(a, target)).toEqual({});
      expect(await mountsUnder()).toEqual([staging]);
    }, 60_000);
  });

  describe("NodeGetVolumeStats", () => {
    it("NOT_FOUND for a volume not staged here, a path that does not exist and a path that is not the volume's", async () => {
      const { a, staging } = await staged();
      const target = podTarget("p1");
      await publish(a, staging, target);
      await expect(a.node.nodeGetVolumeStats({ volumeId: "pvc-unknown", volumePath: target, stagingTargetPath: "" }, call())).rejects.toThrow(new NotFoundError("volume pvc-unknown is not staged on this node"));
      await expect(stats(a, podTarget("p9"), staging)).rejects.toThrow(`volume path ${podTarget("p9")} does not exist`);
      await mkdir(podTarget("p2"), { recursive: true });
      await expect(stats(a, podTarget("p2"), staging)).rejects.toThrow(`${podTarget("p2")} is not a published path of volume ${VOLUME}`);
      await expect(a.node.nodeGetVolumeStats({ volumeId: "", volumePath: target, stagingTargetPath: "" }, call())).rejects.toThrow(/volume_id is required/);
      // Found without the staging path too: the target is a bind of the staging mount.
      expect((await a.node.nodeGetVolumeStats({ volumeId: VOLUME, volumePath: target, stagingTargetPath: "" }, call())).volumeCondition?.abnormal).toBe(false);
    }, 60_000);

    it("abnormal while the connection is lost, naming it; healthy again after the reconnect", async () => {
      const { a, staging } = await staged();
      await a.fabric.loseConnection(NQN);
      const lost = await stats(a, staging, staging);
      expect(lost.volumeCondition?.abnormal).toBe(true);
      expect(lost.volumeCondition?.message).toMatch(/controller nvme\d+ is connecting \(not live\)/);
      await a.fabric.reconnect(NQN);
      expect((await stats(a, staging, staging)).volumeCondition).toEqual({ abnormal: false, message: "volume is healthy" });
    }, 60_000);

    it("block: the device's size from sysfs, found from the block target alone", async () => {
      const { a, staging } = await staged(blockCapability());
      const target = blockTarget("p1");
      await publish(a, staging, target, blockCapability());
      const found = await a.node.nodeGetVolumeStats({ volumeId: VOLUME, volumePath: target, stagingTargetPath: "" }, call());
      expect(found.usage).toEqual([{ unit: csi.VolumeUsage_Unit.BYTES, total: 64n * MiB, available: 0n, used: 0n }]);
      expect(found.volumeCondition?.abnormal).toBe(false);
    }, 60_000);
  });

  describe("NodeExpandVolume", () => {
    it("NOT_FOUND for a volume not staged here; INVALID_ARGUMENT for a bad capacity range or a block request on a filesystem volume", async () => {
      const { a, staging } = await staged();
      await expect(expand(a, staging, staging, { volumeId: "pvc-unknown" })).rejects.toThrow(new NotFoundError("volume pvc-unknown is not staged on this node"));
      await expect(expand(a, staging, staging, { capacityRange: { requiredBytes: 0n, limitBytes: 0n } })).rejects.toThrow(/capacity_range needs required_bytes or limit_bytes/);
      await expect(expand(a, staging, staging, { capacityRange: { requiredBytes: 2n * MiB, limitBytes: MiB } })).rejects.toThrow(/exceeds limit_bytes/);
      await expect(expand(a, staging, staging, { volumeCapability: blockCapability() })).rejects.toThrow(`volume ${VOLUME} is staged as filesystem, not block`);
      await expect(expand(a, staging, staging, { volumeId: "" })).rejects.toThrow(/volume_id is required/);
    }, 60_000);

    // xfs: grown online through its mount point by xfs_growfs, which needs no CAP_SYS_RESOURCE (resize2fs
    // does, and some sandboxes running as root lack it); xfs needs 300 MB to be made.
    it("after the RDS grew the disk: rescans, grows the mounted filesystem and returns the new size; a repeat is OK", async () => {
      await rig.routerOs(`/disk set [find slot="${VOLUME}"] file-size=320M`);
      const { a, staging } = await staged(fsCapability("xfs"));
      await publish(a, staging, podTarget("p1"), fsCapability("xfs"));
      await rig.routerOs(`/disk set [find slot="${VOLUME}"] file-size=512M`);
      const request = { capacityRange: { requiredBytes: 512n * MiB, limitBytes: 0n }, volumeCapability: fsCapability("xfs") };
      expect(await expand(a, podTarget("p1"), staging, request)).toEqual({ capacityBytes: 512n * MiB });
      expect(await expand(a, podTarget("p1"), staging, request)).toEqual({ capacityBytes: 512n * MiB });
      const device = (await rig.resolve(a))!;
      expect(device.sizeBytes).toBe(Number(512n * MiB));
      if (a.standIns !== undefined) expect(a.standIns.resizer.grown).toEqual([{ fsType: "xfs", device: device.devicePath, mountPoint: staging }, { fsType: "xfs", device: device.devicePath, mountPoint: staging }]);
      else expect((await stats(a, podTarget("p1"), staging)).usage[0]!.total).toBeGreaterThan(400n * MiB);
    }, 60_000);

    it("block: rescans and returns the new size, nothing to grow", async () => {
      const { a, staging } = await staged(blockCapability());
      await publish(a, staging, blockTarget("p1"), blockCapability());
      await rig.routerOs(`/disk set [find slot="${VOLUME}"] file-size=128M`);
      expect(await expand(a, blockTarget("p1"), "", { volumeCapability: blockCapability() })).toEqual({ capacityBytes: 128n * MiB });
      expect((await a.node.nodeGetVolumeStats({ volumeId: VOLUME, volumePath: blockTarget("p1"), stagingTargetPath: "" }, call())).usage[0]!.total).toBe(128n * MiB);
      if (a.standIns !== undefined) expect(a.standIns.resizer.grown).toEqual([]);
    }, 60_000);

    it("UNAVAILABLE when the disk did not grow to the required size within the bound", async () => {
      const { a, staging } = await staged();
      await expect(expand(a, staging, staging)).rejects.toThrow(/is 67108864 bytes after rescan, 134217728 required; not grown within 3000 ms/);
    }, 60_000);
  });
});
