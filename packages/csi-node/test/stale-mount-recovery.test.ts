import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FailedPreconditionError, UnavailableError } from "@rds-csi/core";
import { readStagingMetadata, stagingMetadataPath } from "../src/staging/staging-metadata.js";
import { describeOnEachHostKind } from "./support/each-host-kind.js";
import { useNodeRig } from "./support/node-test-rig.js";

const VOLUME = "pvc-stale-1";
// The recovery's decisions hold over the stand-ins too; the data read back through the moved mounts only
// over real mounts (a FakeMounter's mount points share no files with the filesystem they show).

describeOnEachHostKind("stale staging mount recovery over the fake fabric", (devices) => {
  const kernelMounts = devices === "loop";
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-stale-", diskSize: "64M", devices });
  const { newHost, stagingDir, stage, publish, stats, mountOf, resolve } = rig;


  const stagedAndRenumbered = async () => {
    const { a, staging, target, before } = await rig.publishedWithFile("survives the renumbering");
    await a.fabric.reconnect(rig.nqn, { renumber: true });
    const after = (await resolve(a))!;
    expect(after.majorMinor).not.toBe(before.majorMinor);
    expect((await mountOf(staging))?.majorMinor).toBe(before.majorMinor);
    return { a, staging, target, before, after };
  };

  it("a repeated stage moves the staging mount onto the renumbered device of the same namespace", async () => {
    const { a, staging, target, after } = await stagedAndRenumbered();
    expect((await stats(a, staging, staging)).volumeCondition?.message).toMatch(/stale/);

    await expect(stage(a, staging)).resolves.toEqual({}); // kubelet retries NodeStageVolume
    expect((await mountOf(staging))?.majorMinor).toBe(after.majorMinor);
    expect((await resolve(a))?.majorMinor).toBe(after.majorMinor);
    expect((await readStagingMetadata(staging, VOLUME))?.device).toEqual({ majorMinor: after.majorMinor, nsid: after.nsid, uuid: after.uuid });
    expect((await stats(a, staging, staging)).volumeCondition).toEqual({ abnormal: false, message: "volume is healthy" });
    if (kernelMounts) expect(await readFile(join(staging, "kept.txt"), "utf8")).toBe("survives the renumbering");
    await expect(stage(a, staging)).resolves.toEqual({}); // idempotent now

    // The pod's target is re-bound too (restarted containers get the live device); running ones keep
    // the old mount in their namespace, so the target's condition stays abnormal and says so.
    expect((await mountOf(target))?.majorMinor).toBe(after.majorMinor);
    if (kernelMounts) expect(await readFile(join(target, "kept.txt"), "utf8")).toBe("survives the renumbering");
    expect((await stats(a, target, staging)).volumeCondition?.message).toMatch(/re-bound .* restart the pod/);
  }, 60_000);

  it("mounts the renumbered device with the stage's mount flags", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const capability = { ...rig.fsCapability(), mount: { fsType: "ext4", mountFlags: ["noatime"], volumeMountGroup: "" } };
    await stage(a, staging, capability);
    expect((await mountOf(staging))?.mountOptions).toContain("noatime");
    expect((await readStagingMetadata(staging, VOLUME))?.mountFlags).toEqual(["noatime"]);
    await a.fabric.reconnect(rig.nqn, { renumber: true });
    const after = (await resolve(a))!;

    await expect(stage(a, staging, capability)).resolves.toEqual({});
    const remounted = await mountOf(staging);
    expect(remounted?.majorMinor).toBe(after.majorMinor);
    expect(remounted?.mountOptions).toContain("noatime");
    expect((await readStagingMetadata(staging, VOLUME))?.mountFlags).toEqual(["noatime"]); // kept for the next recovery
  }, 60_000);

  it("leaves everything on the old device while it still exists, and recovers once it is gone", async () => {
    const { a, staging, target, before, after } = await stagedAndRenumbered();
    // The old namespace device is still there (e.g. its controller not yet deleted): a block device with
    // the recorded number and the same namespace UUID. The pods' mounts on it can still be written.
    const oldEntry = join(a.fabric.sysfsRoot, "class", "block", "nvme90n1");
    await mkdir(oldEntry, { recursive: true });
    await writeFile(join(oldEntry, "dev"), `${before.majorMinor}\n`);
    await writeFile(join(oldEntry, "uuid"), `${before.uuid}\n`);

    const refused = stage(a, staging);
    await expect(refused).rejects.toThrow(UnavailableError);
    await expect(refused).rejects.toThrow(`the old device nvme90n1 (${before.majorMinor}) still exists`);
    expect((await mountOf(staging))?.majorMinor).toBe(before.majorMinor);
    expect((await mountOf(target))?.majorMinor).toBe(before.majorMinor);
    expect((await readStagingMetadata(staging, VOLUME))?.device.majorMinor).toBe(before.majorMinor);
    const condition = (await stats(a, target, staging)).volumeCondition;
    expect(condition?.abnormal).toBe(true);
    expect(condition?.message).toContain(`the old device nvme90n1 (${before.majorMinor}) still exists; not moving the volume's mounts`);

    await rm(oldEntry, { recursive: true }); // the kernel deleted it
    await expect(stage(a, staging)).resolves.toEqual({});
    expect((await mountOf(staging))?.majorMinor).toBe(after.majorMinor);
    expect((await mountOf(target))?.majorMinor).toBe(after.majorMinor);
  }, 60_000);

  it("a stage that has to mount again keeps the recorded publish targets", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, "pods", "a", "mount");
    await stage(a, staging);
    await publish(a, staging, target);
    await a.ctx.mounter.unmount(staging); // same device, staging mount gone: nothing to recover, stage mounts again
    await expect(stage(a, staging)).resolves.toEqual({});
    expect((await mountOf(staging))?.majorMinor).toBe((await resolve(a))?.majorMinor);
    expect((await readStagingMetadata(staging, VOLUME))?.publishedTargets).toEqual([{ path: target, readonly: false }]);
  }, 60_000);

  it("refuses when the device holds another filesystem than the staged one, and leaves the mount alone", async () => {
    const { a, staging, before } = await stagedAndRenumbered();
    const path = stagingMetadataPath(staging, VOLUME);
    const recorded = JSON.parse(await readFile(path, "utf8")) as { filesystemUuid: string };
    recorded.filesystemUuid = "00000000-0000-4000-8000-000000000000"; // as if another volume's data now answered at this NQN
    await writeFile(path, JSON.stringify(recorded));

    await expect(stage(a, staging)).rejects.toThrow(FailedPreconditionError);
    expect((await mountOf(staging))?.majorMinor).toBe(before.majorMinor);
  }, 60_000);
});

describeOnEachHostKind("stale staging mount recovery of an xfs volume (fake fabric)", (devices) => {
  const kernelMounts = devices === "loop";
  // mkfs.xfs wants at least 300 MB; the backing file is sparse.
  const rig = useNodeRig({ volume: "pvc-stale-xfs", tempPrefix: "csi-node-stale-xfs-", diskSize: "320M", devices });
  const { newHost, stagingDir, stage, publish, unpublish, unstage, mountOf, resolve, fsCapability } = rig;

  it("moves the staging mount although the pod's target still holds the old superblock (same XFS UUID)", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, "pods", "a", "mount");
    await stage(a, staging, fsCapability("xfs"));
    await publish(a, staging, target, fsCapability("xfs"));
    if (kernelMounts) {
      await writeFile(join(target, "kept.txt"), "xfs survives");
      execFileSync("sync", ["-f", target]);
    }
    await a.fabric.reconnect(rig.nqn, { renumber: true });
    const after = (await resolve(a))!;

    await expect(stage(a, staging, fsCapability("xfs"))).resolves.toEqual({});
    expect((await mountOf(staging))?.majorMinor).toBe(after.majorMinor);
    expect((await mountOf(target))?.majorMinor).toBe(after.majorMinor);
    if (kernelMounts) expect(await readFile(join(staging, "kept.txt"), "utf8")).toBe("xfs survives");

    await unpublish(a, target);
    await unstage(a, staging);
    expect(await rig.mountsUnder()).toEqual([]);
  }, 90_000);
});
