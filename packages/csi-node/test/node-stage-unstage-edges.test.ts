import { execFileSync, spawnSync } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AlreadyExistsError, csi, FailedPreconditionError, InternalError, InvalidArgumentError } from "@rds-csi/core";
import { stagingMetadataPath } from "../src/staging/staging-metadata.js";
import { describeOnEachHostKind } from "./support/each-host-kind.js";
import { useNodeRig } from "./support/node-test-rig.js";

const VOLUME = "pvc-stage-edges";
const NQN = `nqn.2000-02.com.mikrotik:${VOLUME}`;
const Mode = csi.VolumeCapability_AccessMode_Mode;

describeOnEachHostKind("NodeStage/NodeUnstage edge cases", (devices) => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-stage-edges-", diskSize: "64M", devices });
  const { call, newHost, fsCapability, blockCapability, mountsUnder, stagingDir, stage, unstage, publish, unpublish } = rig;
  const stageRequest = (staging: string, over: Partial<csi.NodeStageVolumeRequest> = {}): csi.NodeStageVolumeRequest => ({
    volumeId: VOLUME, publishContext: rig.publishContext(), stagingTargetPath: staging, volumeCapability: fsCapability(), secrets: {}, volumeContext: rig.volumeContext, ...over,
  });
  const nothingConnected = async (host: Awaited<ReturnType<typeof newHost>>): Promise<void> => {
    expect(host.connects).toBe(0);
    expect((await host.fabric.state()).controllers).toEqual([]);
    expect(rig.sim.connections(NQN)).toEqual([]);
  };

  it.each([
    ["no volume_id", { volumeId: "" }, /volume_id is required/],
    ["no staging_target_path", { stagingTargetPath: "" }, /staging_target_path is required/],
    ["a relative staging_target_path", { stagingTargetPath: "plugins/x/globalmount" }, /staging_target_path must be an absolute path/],
    ["no volume_capability", { volumeCapability: undefined }, /volume_capability is required/],
    ["no access mode", { volumeCapability: { mount: { fsType: "ext4", mountFlags: [], volumeMountGroup: "" }, accessMode: undefined } }, /volume_capability.access_mode is required/],
    ["block and mount at once", { volumeCapability: { block: {}, mount: { fsType: "ext4", mountFlags: [], volumeMountGroup: "" }, accessMode: { mode: Mode.SINGLE_NODE_WRITER } } }, /block or mount, not both/],
    ["neither block nor mount", { volumeCapability: { accessMode: { mode: Mode.SINGLE_NODE_WRITER } } }, /needs block or mount access/],
    ["an unsupported filesystem", { volumeCapability: { mount: { fsType: "btrfs", mountFlags: [], volumeMountGroup: "" }, accessMode: { mode: Mode.SINGLE_NODE_WRITER } } }, /fs type "btrfs" is not supported/],
    ["a filesystem contradicting the volume context", { volumeContext: { fsType: "xfs" } }, /fs_type "ext4" contradicts volume_context fsType "xfs"/],
    ["no publish context", { publishContext: {} }, /publish_context/],
    ["a publish context with a malformed NQN", { publishContext: { ...rig.publishContext(), nvme_nqn: "not-an-nqn" } }, /publish_context "nvme_nqn": invalid NQN "not-an-nqn"/],
    ["a publish context naming two NQNs", { publishContext: { ...rig.publishContext(), nvme_nqn: `${NQN},${NQN}-2` } }, /publish_context "nvme_nqn": invalid NQN/],
  ])("refuses %s as INVALID_ARGUMENT before connecting anything", async (_name, over, message) => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const refused = a.node.nodeStageVolume(stageRequest(staging, over as Partial<csi.NodeStageVolumeRequest>), call());
    await expect(refused).rejects.toThrow(InvalidArgumentError);
    await expect(refused).rejects.toThrow(message);
    await nothingConnected(a);
    expect(await mountsUnder()).toEqual([]);
  }, 30_000);

  it("a repeat with the same arguments is OK: one connect, one mount, the metadata unchanged", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging);
    const metadata = await readFile(stagingMetadataPath(staging, VOLUME), "utf8");
    expect(await stage(a, staging)).toEqual({});
    expect(a.connects).toBe(1);
    expect(await mountsUnder()).toEqual([staging]);
    expect(await readFile(stagingMetadataPath(staging, VOLUME), "utf8")).toBe(metadata);
    expect(JSON.parse(metadata)).toMatchObject({ volumeId: VOLUME, nqn: NQN, mode: "filesystem", fsType: "ext4" });
    await unstage(a, staging);
  }, 60_000);

  it("a repeat asking for another filesystem, block access or another NQN is ALREADY_EXISTS and changes nothing", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging);
    const metadata = await readFile(stagingMetadataPath(staging, VOLUME), "utf8");
    await expect(stage(a, staging, fsCapability("xfs"))).rejects.toThrow(AlreadyExistsError);
    await expect(stage(a, staging, blockCapability())).rejects.toThrow(AlreadyExistsError);
    const otherNqn = { ...rig.publishContext(), nvme_nqn: "nqn.2000-02.com.mikrotik:pvc-other" };
    await expect(a.node.nodeStageVolume(stageRequest(staging, { publishContext: otherNqn }), call())).rejects.toThrow(/is staged at .* as filesystem\/ext4 of nqn.2000-02.com.mikrotik:pvc-stage-edges, not filesystem\/ext4 of nqn.2000-02.com.mikrotik:pvc-other/);
    expect(a.connects).toBe(1);
    expect(await mountsUnder()).toEqual([staging]);
    expect(await readFile(stagingMetadataPath(staging, VOLUME), "utf8")).toBe(metadata);
    await unstage(a, staging);
  }, 60_000);

  it("a second volume naming an NQN already staged here for another volume is FAILED_PRECONDITION: its device is not touched", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging);
    const other = await stagingDir("other");
    await expect(a.node.nodeStageVolume(stageRequest(other, { volumeId: "pvc-impostor" }), call())).rejects.toThrow(
      new FailedPreconditionError(`${NQN} is already staged on this node for ${VOLUME}, not pvc-impostor`),
    );
    expect(a.connects).toBe(1);
    expect(await mountsUnder()).toEqual([staging]);
    await unstage(a, staging);
  }, 60_000);

  it("does not mount over a staging path that is a file (FAILED_PRECONDITION before connecting)", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    execFileSync("rmdir", [staging]);
    await writeFile(staging, "a file where the staging directory belongs");
    await expect(stage(a, staging)).rejects.toThrow(/staging_target_path .* exists and is not a directory/);
    await nothingConnected(a);
  }, 30_000);

  it("refuses a device holding another filesystem (FAILED_PRECONDITION, nothing formatted), and disconnects what it connected", async () => {
    execFileSync("mkfs.ext4", ["-q", "-F", "-E", "nodiscard", rig.backingFile]);
    const uuid = execFileSync("blkid", ["-p", "-o", "value", "-s", "UUID", rig.backingFile], { encoding: "utf8" }).trim();
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await expect(stage(a, staging, fsCapability("xfs"))).rejects.toThrow(/holds ext4, but xfs was requested/);
    expect(execFileSync("blkid", ["-p", "-o", "value", "-s", "UUID", rig.backingFile], { encoding: "utf8" }).trim()).toBe(uuid);
    expect(await mountsUnder()).toEqual([]);
    expect((await a.fabric.state()).controllers).toEqual([]);
    await expect(stat(stagingMetadataPath(staging, VOLUME))).rejects.toMatchObject({ code: "ENOENT" });
    // What it holds is used as it is: staged as ext4 without formatting again.
    await stage(a, staging);
    expect(execFileSync("blkid", ["-p", "-o", "value", "-s", "UUID", rig.backingFile], { encoding: "utf8" }).trim()).toBe(uuid);
    await unstage(a, staging);
  }, 60_000);

  it("metadata that cannot be read is INTERNAL at stage, publish and unstage, and nothing is touched", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging);
    const file = stagingMetadataPath(staging, VOLUME);
    const good = await readFile(file, "utf8");
    await writeFile(file, good.slice(0, good.length / 2)); // cut short, as after a crash without the atomic write
    const target = join(rig.dir, "pods", "a", "mount");
    await expect(stage(a, staging)).rejects.toThrow(InternalError);
    await expect(publish(a, staging, target)).rejects.toThrow(InternalError);
    await expect(unstage(a, staging)).rejects.toThrow(InternalError);
    await expect(unstage(a, staging)).rejects.toThrow(/staging metadata .* not JSON/);
    expect(await mountsUnder()).toEqual([staging]);
    expect(a.connects).toBe(1);
    await writeFile(file, good);
    await unstage(a, staging);
    expect(await mountsUnder()).toEqual([]);
  }, 60_000);

  it("metadata of another volume at the staging path is INTERNAL, not that volume's to act on", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging);
    const file = stagingMetadataPath(staging, VOLUME);
    const good = await readFile(file, "utf8");
    await writeFile(file, good.replace(`"volumeId": "${VOLUME}"`, `"volumeId": "pvc-someone-else"`));
    await expect(unstage(a, staging)).rejects.toThrow(/it names volume "pvc-someone-else", expected "pvc-stage-edges"/);
    expect(await mountsUnder()).toEqual([staging]);
    await writeFile(file, good);
    await unstage(a, staging);
  }, 60_000);

  it("unstage of a volume never staged, or twice, is OK; without volume_id or with a bad path it is INVALID_ARGUMENT", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    expect(await unstage(a, staging)).toEqual({});
    await stage(a, staging);
    expect(await unstage(a, staging)).toEqual({});
    expect(await unstage(a, staging)).toEqual({});
    await expect(a.node.nodeUnstageVolume({ volumeId: "", stagingTargetPath: staging }, call())).rejects.toThrow(/volume_id is required/);
    await expect(a.node.nodeUnstageVolume({ volumeId: VOLUME, stagingTargetPath: "" }, call())).rejects.toThrow(/staging_target_path is required/);
    expect(await mountsUnder()).toEqual([]);
    expect((await a.fabric.state()).controllers).toEqual([]);
  }, 60_000);

  it("unstage of a staging still in use is FAILED_PRECONDITION: mount and controller kept, marked as being unstaged; once released it completes", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging);
    const release = await rig.holdBusy(a, staging);
    try {
      await expect(unstage(a, staging)).rejects.toThrow(FailedPreconditionError);
      expect(await mountsUnder()).toEqual([staging]);
      expect((await a.fabric.state()).controllers).toHaveLength(1);
      expect(JSON.parse(await readFile(stagingMetadataPath(staging, VOLUME), "utf8"))).toHaveProperty("unstagingSince");
      expect((await rig.stats(a, staging, staging)).volumeCondition?.message).toMatch(/being unstaged since/);
    } finally {
      await release();
    }
    expect(await unstage(a, staging)).toEqual({});
    expect(await mountsUnder()).toEqual([]);
    expect((await a.fabric.state()).controllers).toEqual([]);
  }, 60_000);

  // CSI spec, "RPC Interactions and Reference Counting": every NodeUnpublishVolume of the volume on the
  // node comes before NodeUnstageVolume. Out of order, the unstage is refused before anything changes
  // (before, it unmounted the staging, kept the controller the target used and dropped the metadata:
  // the later NodeUnpublish then left the target mounted and the controller stayed connected for good).
  it.each([
    ["filesystem", (): csi.VolumeCapability => fsCapability(), join("pods", "a", "volumes", "kubernetes.io~csi", VOLUME, "mount")],
    ["block", (): csi.VolumeCapability => blockCapability(), join("plugins", "kubernetes.io", "csi", "volumeDevices", "publish", VOLUME, "pod-a")],
  ])("%s: unstage while a target is still published is FAILED_PRECONDITION naming it, nothing changed; unpublish then unstage completes", async (_kind, capability, relativeTarget) => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, relativeTarget);
    await stage(a, staging, capability());
    await publish(a, staging, target, capability());
    const mounted = await mountsUnder();
    const metadata = await readFile(stagingMetadataPath(staging, VOLUME), "utf8");
    const refused = unstage(a, staging);
    await expect(refused).rejects.toThrow(FailedPreconditionError);
    await expect(refused).rejects.toThrow(`volume ${VOLUME} is still published on this node at ${target}`);
    expect(await mountsUnder()).toEqual(mounted);
    expect(await readFile(stagingMetadataPath(staging, VOLUME), "utf8")).toBe(metadata); // not even marked as being unstaged
    expect((await a.fabric.state()).controllers).toHaveLength(1);
    expect(rig.sim.connections(NQN)).toEqual([a.fabric.hostNqn]);

    expect(await unpublish(a, target)).toEqual({});
    await expect(stat(target)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await unstage(a, staging)).toEqual({});
    expect(await mountsUnder()).toEqual([]);
    expect((await a.fabric.state()).controllers).toEqual([]);
    expect(rig.sim.connections(NQN)).toEqual([]);
  }, 60_000);

  it("block: stage, repeat, and unstage; staging as block records no filesystem and mounts nothing", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging, blockCapability());
    await stage(a, staging, blockCapability());
    expect(a.connects).toBe(1);
    expect(await mountsUnder()).toEqual([]);
    expect(JSON.parse(await readFile(stagingMetadataPath(staging, VOLUME), "utf8"))).toMatchObject({ mode: "block", fsType: null });
    expect(spawnSync("blkid", ["-p", rig.backingFile]).status).toBe(2); // blkid(8): nothing found — never formatted
    await unstage(a, staging);
    expect((await a.fabric.state()).controllers).toEqual([]);
  }, 60_000);
});
