import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { buildPublishContext, createLogger, csi, FailedPreconditionError, InvalidArgumentError, OperationLocks, type CallContext, type Exec } from "@rds-csi/core";
import { FakeMounter } from "../test/support/fake-mounter.js";
import { KeptControllers } from "./kept-controllers.js";
import { StagedVolumes, type NodeContext } from "./node-context.js";
import type { DeviceResolver } from "./nvme/device-identity.js";
import { requireNodeCapability } from "./node-get-capabilities.js";
import { NodeService } from "./node-service.js";
import { readStagingMetadata, writeStagingMetadata, type StagingMetadata } from "./staging/staging-metadata.js";
import { kubeletCsiPluginDir } from "./startup-reconciliation.js";

// The node's checks of a request, without root: every side effect sits behind a member of the
// context below that fails the test when touched (the FakeMounter records mounts in memory).

const quiet = createLogger({ level: "error", component: "test", stream: new PassThrough().resume() });
const call = (): CallContext => ({ requestId: "t", method: "t", signal: AbortSignal.timeout(10_000), metadata: {} as CallContext["metadata"], logger: quiet });
const NQN = "nqn.2000-02.com.mikrotik:pvc-1";
const Mode = csi.VolumeCapability_AccessMode_Mode;

function untouchable<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get: (_target, member) => {
      throw new Error(`${name}.${String(member)} was used: a side effect before the request was checked`);
    },
  });
}

describe("node request checks (no root)", () => {
  let kubelet: string;
  let outside: string;
  let mounter: FakeMounter;
  let node: NodeService;

  beforeEach(async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), "rds-csi-node-checks-")));
    kubelet = join(dir, "kubelet");
    outside = join(dir, "elsewhere");
    await mkdir(kubeletCsiPluginDir(kubelet), { recursive: true });
    await mkdir(outside);
    // Two disks of this host, both holding ext4: the volume's (259:3) and someone else's (8:0).
    const disks: Record<string, string> = { "/dev/nvme1n1": "259:3", "/dev/sdz": "8:0" };
    mounter = new FakeMounter({ numberAt: async (path) => disks[path] ?? null, filesystemOn: async () => "ext4" });
    const ctx: NodeContext = {
      nodeId: "node-a",
      kubeletDir: kubelet,
      maxVolumesPerNode: 0,
      topology: undefined,
      host: { hostNqn: "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000001", hostId: "00000000-0000-0000-0000-000000000001" },
      initiator: untouchable("initiator"),
      // Nothing of the volume's namespace is present on this node.
      resolver: { resolve: async () => undefined } as unknown as DeviceResolver,
      sysfs: untouchable("sysfs"),
      mounter,
      probe: untouchable("probe"),
      formatter: untouchable("formatter"),
      managedNqnPrefix: "nqn.2000-02.com.mikrotik:",
      locks: new OperationLocks({ label: "volume" }),
      staged: new StagedVolumes(),
      keptControllers: new KeptControllers(),
      namespaceTimeoutMs: 1_000,
      stageRecorder: { time: (_phase, step) => step(), format: (_fs, step) => step() },
    };
    node = new NodeService(ctx, { exec: untouchable<Exec>("exec") });
  });
  afterEach(() => rm(join(kubelet, ".."), { recursive: true, force: true }));

  const staging = (name = "pv-1") => join(kubeletCsiPluginDir(kubelet), "rds.csi.srvlab.io", name, "globalmount");
  const target = (pod = "pod-1") => join(kubelet, "pods", pod, "volumes", "kubernetes.io~csi", "pv-1", "mount");
  const fs = (mountFlags: string[] = []): csi.VolumeCapability => ({ mount: { fsType: "ext4", mountFlags, volumeMountGroup: "" }, accessMode: { mode: Mode.SINGLE_NODE_WRITER } });
  const stage = (over: Partial<csi.NodeStageVolumeRequest>) =>
    node.nodeStageVolume({ volumeId: "pvc-1", publishContext: buildPublishContext({ address: "10.0.0.5", port: 4420, nqn: NQN }), stagingTargetPath: staging(), volumeCapability: fs(), secrets: {}, volumeContext: {}, ...over }, call());
  const publish = (over: Partial<csi.NodePublishVolumeRequest>) =>
    node.nodePublishVolume({ volumeId: "pvc-1", publishContext: {}, stagingTargetPath: staging(), targetPath: target(), volumeCapability: fs(), readonly: false, secrets: {}, volumeContext: {}, ...over }, call());

  describe("paths (issue 9 items 8 and 9)", () => {
    it.each([
      ["a NUL byte", () => `${staging()}\0/x`, /staging_target_path must not contain a NUL byte/],
      ["more than PATH_MAX bytes", () => `${kubelet}/${"a/".repeat(2100)}globalmount`, /staging_target_path is longer than 4095 bytes/],
      ["a component over NAME_MAX", () => join(kubelet, "x".repeat(256), "globalmount"), /component longer than 255 bytes/],
      ["a place outside the kubelet directory", () => join(outside, "globalmount"), /is not under the kubelet directory/],
    ])("refuses a staging path with %s as INVALID_ARGUMENT before anything", async (_name, path, message) => {
      const refused = stage({ stagingTargetPath: path() });
      await expect(refused).rejects.toThrow(InvalidArgumentError);
      await expect(refused).rejects.toThrow(message);
    });

    it("refuses a path whose parent is a symlink inside the kubelet directory to another place", async () => {
      await mkdir(join(kubelet, "pods"), { recursive: true });
      await symlink(outside, join(kubelet, "pods", "escape"));
      await expect(publish({ targetPath: join(kubelet, "pods", "escape", "mount") })).rejects.toThrow(/is not under the kubelet directory .* resolves to/);
      await expect(node.nodeUnpublishVolume({ volumeId: "pvc-1", targetPath: join(kubelet, "pods", "escape", "victim") }, call())).rejects.toThrow(InvalidArgumentError);
    });

    it("refuses a target that is itself a symlink", async () => {
      await mkdir(join(target(), ".."), { recursive: true });
      await symlink(outside, target());
      await expect(node.nodeUnpublishVolume({ volumeId: "pvc-1", targetPath: target() }, call())).rejects.toThrow(/is a symbolic link; the node does not follow it/);
    });

    it("checks every RPC's paths: unstage, unpublish, stats and expand too", async () => {
      const bad = join(outside, "x");
      await expect(node.nodeUnstageVolume({ volumeId: "pvc-1", stagingTargetPath: bad }, call())).rejects.toThrow(InvalidArgumentError);
      await expect(node.nodeUnpublishVolume({ volumeId: "pvc-1", targetPath: `${target()}\0` }, call())).rejects.toThrow(InvalidArgumentError);
      await expect(node.nodeGetVolumeStats({ volumeId: "pvc-1", volumePath: bad, stagingTargetPath: "" }, call())).rejects.toThrow(InvalidArgumentError);
      await expect(node.nodeExpandVolume({ volumeId: "pvc-1", volumePath: target(), stagingTargetPath: bad, capacityRange: undefined, volumeCapability: undefined, secrets: {} }, call())).rejects.toThrow(InvalidArgumentError);
    });

    it("does not stage over a directory with files in it (FAILED_PRECONDITION, nothing connected)", async () => {
      await mkdir(staging(), { recursive: true });
      await writeFile(join(staging(), "someone-elses.txt"), "kept");
      await expect(stage({})).rejects.toThrow(FailedPreconditionError);
      await expect(stage({})).rejects.toThrow(/is a directory with files in it/);
      expect(await readFile(join(staging(), "someone-elses.txt"), "utf8")).toBe("kept");
    });
  });

  describe("NodeUnpublish acts only on what is this volume's (issue 9 item 8)", () => {
    const metadata = (over: Partial<StagingMetadata> = {}): StagingMetadata => ({
      volumeId: "pvc-1", nqn: NQN, address: "10.0.0.5", port: 4420, hostNqn: "h", mode: "filesystem", fsType: "ext4",
      device: { majorMinor: "259:3", nsid: 1, uuid: "u" }, stagedAt: new Date().toISOString(), ...over,
    });

    it("answers OK for a volume not staged here and leaves a regular file and someone else's mount alone", async () => {
      await mkdir(join(target(), ".."), { recursive: true });
      await writeFile(target(), "not a volume");
      await expect(node.nodeUnpublishVolume({ volumeId: "pvc-unrelated", targetPath: target() }, call())).resolves.toEqual({});
      expect(await readFile(target(), "utf8")).toBe("not a volume");

      const other = target("pod-2");
      await mkdir(other, { recursive: true });
      await mounter.mount("/dev/sdz", other, "ext4", []);
      await expect(node.nodeUnpublishVolume({ volumeId: "pvc-unrelated", targetPath: other }, call())).resolves.toEqual({});
      expect(await mounter.isMountPoint(other)).toBe(true);
    });

    it("leaves a mount that is not of the staged volume's staging mount, and unmounts and removes its own recorded target", async () => {
      await mkdir(staging(), { recursive: true });
      await mounter.mount("/dev/nvme1n1", staging(), "ext4", []);
      await writeStagingMetadata(staging(), metadata({ publishedTargets: [{ path: target(), readonly: false }] }));
      const foreign = target("pod-2");
      await mkdir(foreign, { recursive: true });
      await mounter.mount("/dev/sdz", foreign, "ext4", []);
      await expect(node.nodeUnpublishVolume({ volumeId: "pvc-1", targetPath: foreign }, call())).resolves.toEqual({});
      expect(await mounter.isMountPoint(foreign)).toBe(true);

      await mkdir(target(), { recursive: true });
      await mounter.bindMount(staging(), target(), { readonly: false });
      await expect(node.nodeUnpublishVolume({ volumeId: "pvc-1", targetPath: target() }, call())).resolves.toEqual({});
      expect(await mounter.isMountPoint(target())).toBe(false);
      await expect(readFile(target())).rejects.toMatchObject({ code: "ENOENT" });
    });
  });

  it("NodeUnstage does not unmount what is mounted at the staging path when it is not the volume's (FAILED_PRECONDITION, metadata kept)", async () => {
    await mkdir(staging(), { recursive: true });
    await writeStagingMetadata(staging(), {
      volumeId: "pvc-1", nqn: NQN, address: "10.0.0.5", port: 4420, hostNqn: "h", mode: "filesystem", fsType: "ext4",
      device: { majorMinor: "259:3", nsid: 1, uuid: "u" }, stagedAt: new Date().toISOString(),
    });
    await mounter.mount("/dev/sdz", staging(), "ext4", []);
    await expect(node.nodeUnstageVolume({ volumeId: "pvc-1", stagingTargetPath: staging() }, call())).rejects.toThrow(/is a mount of \/dev\/sdz \(8:0\), not of volume pvc-1 \(device 259:3\); not unmounting it/);
    expect(await mounter.isMountPoint(staging())).toBe(true);
    expect((await readStagingMetadata(staging(), "pvc-1"))?.unstagingSince).toBeUndefined();
  });

  describe("mount options (issue 9 item 10, issue 12 item 3)", () => {
    it.each([
      ["an unknown option", ["noatime", "fooo"], /volume_capability.mount.mount_flags\[1\]: mount option "fooo" for ext4: it is not a known ext4 mount option/],
      ["an option of another filesystem", ["nouuid"], /mount option "nouuid" for ext4: it is not a known ext4 mount option/],
      ["a bad value", ["commit=soon"], /mount option "commit=soon" for ext4: its value must be a whole number/],
      ["an option that changes what is mounted", ["loop"], /mount option "loop" for ext4: it is not accepted/],
      ["two options in one flag", ["noatime,nodev"], /without commas/],
    ])("refuses %s at NodeStage as INVALID_ARGUMENT naming it, before connecting", async (_name, flags, message) => {
      const refused = stage({ volumeCapability: fs(flags) });
      await expect(refused).rejects.toThrow(InvalidArgumentError);
      await expect(refused).rejects.toThrow(message);
    });

    it("refuses any mount option where the volume's StorageClass says mountOptionsPolicy=forbid, at NodeStage and NodePublish", async () => {
      const forbid = { mountOptionsPolicy: "forbid" };
      const message = /mount_flags\[0\]: mount option "noatime" is refused: this StorageClass forbids mount options \(mountOptionsPolicy=forbid\)/;
      await expect(stage({ volumeCapability: fs(["noatime"]), volumeContext: forbid })).rejects.toThrow(message);
      await expect(publish({ volumeCapability: fs(["noatime"]), volumeContext: forbid })).rejects.toThrow(message);
    });

    it("refuses a volume context it cannot read, naming the key", async () => {
      await expect(stage({ volumeContext: { ctrlLossTmo: "forever" } })).rejects.toThrow(/volume_context "ctrlLossTmo" must be an integer from -1 to 86400/);
      await expect(stage({ volumeContext: { mountOptionsPolicy: "sometimes" } })).rejects.toThrow(/volume_context "mountOptionsPolicy" must be one of allow, forbid/);
    });
  });

  it("gates an RPC on the capability list it advertises", () => {
    expect(() => requireNodeCapability(csi.NodeServiceCapability_RPC_Type.STAGE_UNSTAGE_VOLUME, "NodeStageVolume")).not.toThrow();
    expect(() => requireNodeCapability(csi.NodeServiceCapability_RPC_Type.VOLUME_MOUNT_GROUP, "NodeStageVolume")).toThrow(
      "NodeStageVolume needs the VOLUME_MOUNT_GROUP capability, which this node does not advertise",
    );
  });
});
