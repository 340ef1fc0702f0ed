import { csi, GiB, MiB, volumeIdFromName } from "@rds-csi/core";
import { runAsOperator } from "@rds-csi/rds-simulator";
import { callUnary } from "@rds-csi/testkit";
import { describeControllerSanity, type ControllerCaller } from "./sanity/describe-controller-sanity.js";
import { connectController } from "./support/controller-connection.js";
import { statusOf } from "./sanity/grpc-status.js";
import { FakePublishArbiter } from "./support/fake-publish-arbiter.js";
import { startSimulatedController, type SimulatedController } from "./support/in-process-controller.js";
import type { TopologySegment } from "../src/topology.js";

const NODE = "node-a";
const Mode = csi.VolumeCapability_AccessMode_Mode;
const Rpc = csi.ControllerServiceCapability_RPC_Type;
const TOPOLOGY: TopologySegment = { key: "topology.rds.csi.srvlab.io/rds", value: "rack1" };

function startRig(copyTrust: "verified" | "unverified", topology?: TopologySegment): Promise<SimulatedController> {
  return startSimulatedController("rds-csi-controller-sanity-", {
    copyTrust,
    arbiter: new FakePublishArbiter([NODE, "node-b", "node-c"]),
    ...(topology ? { topology } : {}),
  });
}

describe.each([
  ["verified", "advertises snapshots and clones"],
  ["unverified", "advertises neither snapshots nor clones"],
] as const)("controller sanity with the copy strategy %s", (copyTrust, advertises) => {
  let rig: SimulatedController;
  beforeAll(async () => {
    rig = await startRig(copyTrust);
  });
  afterAll(async () => {
    await rig.stop();
  });

  it(advertises, async () => {
    const connection = connectController(rig.controller.endpoint);
    try {
      const { capabilities } = await connection.controller.controllerGetCapabilities({});
      const types = new Set(capabilities.map((entry) => entry.rpc?.type));
      for (const copy of [Rpc.CREATE_DELETE_SNAPSHOT, Rpc.LIST_SNAPSHOTS, Rpc.CLONE_VOLUME]) {
        expect(types.has(copy)).toBe(copyTrust === "verified");
      }
    } finally {
      connection.close();
    }
  });

  describeControllerSanity({
    endpoint: () => rig.controller.endpoint,
    connect: connectController,
    nodeId: () => NODE,
  });
});

describe("rds-csi controller behaviour over its socket", () => {
  let rig: SimulatedController;
  let connection: ReturnType<typeof connectController>;
  let c: ControllerCaller;
  const made: string[] = [];
  const snapshots: string[] = [];

  const capability = (mode = Mode.SINGLE_NODE_WRITER, fsType = ""): csi.VolumeCapability =>
    csi.VolumeCapability.fromPartial({ mount: { fsType }, accessMode: { mode } });
  const blockCapability = (mode = Mode.SINGLE_NODE_WRITER): csi.VolumeCapability => csi.VolumeCapability.fromPartial({ block: {}, accessMode: { mode } });
  const request = (partial: csi.DeepPartial<csi.CreateVolumeRequest>): csi.CreateVolumeRequest =>
    csi.CreateVolumeRequest.fromPartial({ name: `t-${made.length}-${Date.now()}`, volumeCapabilities: [capability()], ...partial });
  async function create(partial: csi.DeepPartial<csi.CreateVolumeRequest>): Promise<csi.Volume> {
    const { volume } = await c.createVolume(request(partial));
    made.push(volume!.volumeId);
    return volume!;
  }

  beforeAll(async () => {
    rig = await startRig("verified", TOPOLOGY);
    connection = connectController(rig.controller.endpoint);
    c = connection.controller;
  });
  afterAll(async () => {
    connection.close();
    await rig.stop();
  });
  afterEach(async () => {
    rig.sim.faults.reset();
    for (const snapshotId of snapshots.splice(0)) await c.deleteSnapshot(csi.DeleteSnapshotRequest.fromPartial({ snapshotId }));
    for (const volumeId of made.splice(0)) {
      await c.controllerUnpublishVolume(csi.ControllerUnpublishVolumeRequest.fromPartial({ volumeId }));
      await c.deleteVolume(csi.DeleteVolumeRequest.fromPartial({ volumeId }));
    }
  });

  it("keeps a PV name as the volume id and hashes any other name into pvc-<uuid>", async () => {
    const pvName = "pvc-5b0c1f2e-0000-4000-8000-123456789abc";
    expect((await create({ name: pvName })).volumeId).toBe(pvName);
    expect((await create({ name: "my-volume" })).volumeId).toBe("pvc-048fb259-4cb7-5f06-887c-eadbf0c29a0d");
    expect(volumeIdFromName("my-volume")).toBe("pvc-048fb259-4cb7-5f06-887c-eadbf0c29a0d");
  });

  it("rounds sizes up to whole MiB, with a 1 GiB minimum, and reports the bytes the RDS holds", async () => {
    const odd = await create({ capacityRange: { requiredBytes: GiB + 1n } });
    expect(odd.capacityBytes).toBe(GiB + MiB);
    expect(rig.sim.disks().find((disk) => disk.slot === odd.volumeId)?.size).toBe(Number(GiB + MiB));
    expect((await create({})).capacityBytes).toBe(GiB);
    await expect(statusOf(c.createVolume(request({ capacityRange: { requiredBytes: 17n * 1024n * GiB } })))).resolves.toEqual({
      status: "OUT_OF_RANGE",
      details: "capacity_range: 18691697672192 bytes is above the maximum volume size of 17592186044416 bytes",
    });
  });

  it("checks free space before making anything: RESOURCE_EXHAUSTED with the requested and free bytes", async () => {
    rig.sim.clearCommandLog();
    const outcome = await statusOf(c.createVolume(request({ capacityRange: { requiredBytes: 200n * GiB } })));
    expect(outcome.status).toBe("RESOURCE_EXHAUSTED");
    expect(outcome.details).toMatch(/^not enough free space on the RDS for volume pvc-[0-9a-f-]+: 214748364800 bytes requested, \d+ bytes free$/);
    expect(rig.sim.commandLog().filter((entry) => entry.command.startsWith("/disk add"))).toEqual([]);
  });

  it("names unknown StorageClass parameters and ignores the sidecars' own", async () => {
    await expect(statusOf(c.createVolume(request({ parameters: { nvmePort: "4420", fsTyp: "xfs", "csi.storage.k8s.io/pvc/name": "data" } })))).resolves.toMatchObject({
      status: "INVALID_ARGUMENT",
      details: expect.stringContaining("unknown parameter fsTyp (known: nvmePort"),
    });
    const outcome = await statusOf(c.createVolume(request({ parameters: { migrationWindowSeconds: "soon" } })));
    expect(outcome).toMatchObject({ status: "INVALID_ARGUMENT", details: expect.stringContaining("migrationWindowSeconds") });
  });

  it("hands the node what it needs in the volume context, and the topology it is accessible from", async () => {
    const volume = await create({
      volumeCapabilities: [capability(Mode.SINGLE_NODE_WRITER, "xfs")],
      parameters: { nvmePort: "4421", ctrlLossTmo: "600", migrationWindowSeconds: "900", "csi.storage.k8s.io/pvc/name": "data" },
    });
    expect(volume.volumeContext).toEqual({
      nvmeAddress: "127.0.0.1",
      nvmePort: "4421",
      nqn: `nqn.2000-02.com.mikrotik:${volume.volumeId}`,
      fsType: "xfs",
      ctrlLossTmo: "600",
      reconnectDelay: "5",
      keepAliveTmo: "0",
      mountOptionsPolicy: "allow",
      migrationWindowSeconds: "900",
    });
    expect(volume.accessibleTopology).toEqual([{ segments: { [TOPOLOGY.key]: TOPOLOGY.value } }]);
    const raw = await create({ volumeCapabilities: [blockCapability()], parameters: { "csi.storage.k8s.io/fstype": "ext3" } });
    expect(raw.volumeContext).not.toHaveProperty("fsType");
    expect((await create({ parameters: { "csi.storage.k8s.io/fstype": "ext3" } })).volumeContext.fsType).toBe("ext3");
    expect((await create({})).volumeContext.fsType).toBe("ext4");
  });

  it("answers a known name asking for another port or filesystem conflict as ALREADY_EXISTS or INVALID_ARGUMENT", async () => {
    const first = request({});
    made.push((await c.createVolume(first)).volume!.volumeId);
    await expect(statusOf(c.createVolume({ ...first, parameters: { nvmePort: "4421" } }))).resolves.toMatchObject({
      status: "ALREADY_EXISTS",
      details: expect.stringContaining("already exists on NVMe/TCP port 4420, not 4421"),
    });
    const contradicting = { ...first, volumeCapabilities: [capability(Mode.SINGLE_NODE_WRITER, "xfs")], parameters: { "csi.storage.k8s.io/fstype": "ext4" } };
    await expect(statusOf(c.createVolume(contradicting))).resolves.toMatchObject({ status: "INVALID_ARGUMENT" });
  });

  it("deletes ids outside its grammar as volumes that do not exist, without sending the RDS anything", async () => {
    rig.sim.clearCommandLog();
    for (const volumeId of ["storage-pool", "../x", "pvc-../../etc"]) {
      await expect(statusOf(c.deleteVolume(csi.DeleteVolumeRequest.fromPartial({ volumeId })))).resolves.toEqual({ status: "OK", details: "" });
    }
    expect(rig.sim.commandLog()).toEqual([]);
  });

  it("serves MULTI_NODE_MULTI_WRITER and MULTI_NODE_READER_ONLY for block only, and refuses mount options where forbidden", async () => {
    await expect(statusOf(c.createVolume(request({ volumeCapabilities: [capability(Mode.MULTI_NODE_MULTI_WRITER)] })))).resolves.toMatchObject({
      status: "INVALID_ARGUMENT",
      details: expect.stringContaining("volume_capabilities[0].access_mode MULTI_NODE_MULTI_WRITER is supported for block volumes only"),
    });
    await create({ volumeCapabilities: [blockCapability(Mode.MULTI_NODE_MULTI_WRITER)] });
    await expect(statusOf(c.createVolume(request({ volumeCapabilities: [blockCapability(Mode.MULTI_NODE_SINGLE_WRITER)] })))).resolves.toMatchObject({
      status: "INVALID_ARGUMENT",
      details: "volume_capabilities[0].access_mode MULTI_NODE_SINGLE_WRITER is not supported by this driver",
    });
    const withFlags = csi.VolumeCapability.fromPartial({ mount: { mountFlags: ["noatime"] }, accessMode: { mode: Mode.SINGLE_NODE_WRITER } });
    await expect(statusOf(c.createVolume(request({ volumeCapabilities: [withFlags], parameters: { mountOptionsPolicy: "forbid" } })))).resolves.toMatchObject({
      status: "INVALID_ARGUMENT",
      details: expect.stringContaining("volume_capabilities[0].mount.mount_flags"),
    });
    await create({ volumeCapabilities: [withFlags] });
    // The node's own check (core checkMountOptions), here before anything exists on the RDS.
    const unknown = csi.VolumeCapability.fromPartial({ mount: { mountFlags: ["noatime", "nouuid"] }, accessMode: { mode: Mode.SINGLE_NODE_WRITER } });
    await expect(statusOf(c.createVolume(request({ name: "pvc-bad-option", volumeCapabilities: [unknown] })))).resolves.toMatchObject({
      status: "INVALID_ARGUMENT",
      details: 'volume_capabilities[0].mount.mount_flags[1]: mount option "nouuid" for ext4: it is not a known ext4 mount option (see docs/mount-options.md)',
    });
  });

  it("asks the node to grow a filesystem on every expand, also a repeated one, and never for raw block", async () => {
    const volume = await create({});
    const expand = (volumeCapability?: csi.VolumeCapability) =>
      c.controllerExpandVolume(csi.ControllerExpandVolumeRequest.fromPartial({ volumeId: volume.volumeId, capacityRange: { requiredBytes: 2n * GiB }, volumeCapability }));
    expect(await expand(capability())).toEqual({ capacityBytes: 2n * GiB, nodeExpansionRequired: true });
    expect(await expand(capability())).toEqual({ capacityBytes: 2n * GiB, nodeExpansionRequired: true });
    expect(await expand()).toEqual({ capacityBytes: 2n * GiB, nodeExpansionRequired: true });
    expect(await expand(blockCapability())).toEqual({ capacityBytes: 2n * GiB, nodeExpansionRequired: false });
    const beyond = c.controllerExpandVolume(csi.ControllerExpandVolumeRequest.fromPartial({ volumeId: volume.volumeId, capacityRange: { requiredBytes: 3n * GiB, limitBytes: GiB } }));
    await expect(statusOf(beyond)).resolves.toMatchObject({ status: "OUT_OF_RANGE" });
    const shrink = c.controllerExpandVolume(csi.ControllerExpandVolumeRequest.fromPartial({ volumeId: volume.volumeId, capacityRange: { requiredBytes: GiB, limitBytes: GiB } }));
    await expect(statusOf(shrink)).resolves.toMatchObject({ status: "OUT_OF_RANGE", details: expect.stringContaining("volumes never shrink") });
  });

  it("reports a volume whose export is off as abnormal", async () => {
    const volume = await create({});
    await runAsOperator(rig.sim, rig.key.private, `/disk set [find slot="${volume.volumeId}"] nvme-tcp-export=no`);
    const { status } = await c.controllerGetVolume({ volumeId: volume.volumeId });
    expect(status?.volumeCondition).toEqual({
      abnormal: true,
      message: `the disk ${volume.volumeId} exists on the RDS but its NVMe/TCP export is off; nodes cannot connect to it`,
    });
    const listed = (await c.listVolumes({ maxEntries: 0, startingToken: "" })).entries.find((entry) => entry.volume?.volumeId === volume.volumeId);
    expect(listed?.status?.volumeCondition?.abnormal).toBe(true);
  });

  it("refuses to delete a published volume, and a read-only publish it cannot honour", async () => {
    const volume = await create({});
    const publish = csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: NODE, volumeCapability: capability(), volumeContext: volume.volumeContext });
    expect((await c.controllerPublishVolume(publish)).publishContext).toEqual({
      nvme_address: "127.0.0.1",
      nvme_port: "4420",
      nvme_nqn: `nqn.2000-02.com.mikrotik:${volume.volumeId}`,
    });
    await expect(statusOf(c.controllerPublishVolume({ ...publish, nodeId: "node-b" }))).resolves.toMatchObject({ status: "FAILED_PRECONDITION" });
    await expect(statusOf(c.deleteVolume(csi.DeleteVolumeRequest.fromPartial({ volumeId: volume.volumeId })))).resolves.toEqual({
      status: "FAILED_PRECONDITION",
      details: `volume ${volume.volumeId} is still published to node(s) ${NODE}; unpublish it before deleting it`,
    });
    await expect(statusOf(c.controllerPublishVolume({ ...publish, readonly: true }))).resolves.toMatchObject({
      status: "INVALID_ARGUMENT",
      details: expect.stringContaining("readonly"),
    });
  });

  it("answers a second operation on a busy volume with ABORTED", async () => {
    const slow = request({});
    rig.sim.faults.setDelay({ mutate: 1_000 });
    const first = c.createVolume(slow);
    // The first call holds the volume's lock while the RDS takes its time over the /disk add.
    await waitFor(() => rig.sim.commandLog().some((entry) => entry.command.startsWith("/disk add")));
    await expect(statusOf(c.createVolume(slow))).resolves.toEqual({
      status: "ABORTED",
      details: `an operation on volume ${volumeIdFromName(slow.name)} is already in progress`,
    });
    made.push((await first).volume!.volumeId);
    expect((await c.createVolume(slow)).volume!.volumeId).toBe(volumeIdFromName(slow.name));
  });

  it("refuses requests it cannot honour before touching the RDS", async () => {
    rig.sim.clearCommandLog();
    const refusals = [
      request({ mutableParameters: { iops: "100" } }),
      request({ volumeCapabilities: [capability(Mode.SINGLE_NODE_WRITER, "xfs"), capability(Mode.SINGLE_NODE_READER_ONLY, "ext4")] }),
      request({ volumeContentSource: {} }),
      request({ volumeContentSource: { snapshot: { snapshotId: "backup\u0007-1" } } }),
      request({ volumeContentSource: { snapshot: { snapshotId: "backup-1" } } }),
      request({ volumeContentSource: { volume: { volumeId: "storage-pool" } } }),
    ];
    const outcomes = await Promise.all(refusals.map((refused) => statusOf(c.createVolume(refused))));
    expect(outcomes).toEqual([
      { status: "INVALID_ARGUMENT", details: "mutable_parameters are not supported: this driver has no modifiable volume attributes" },
      { status: "INVALID_ARGUMENT", details: "volume_capabilities ask for different filesystems: xfs, ext4" },
      { status: "INVALID_ARGUMENT", details: "volume_content_source must name a snapshot or a volume" },
      { status: "INVALID_ARGUMENT", details: 'volume_content_source.snapshot.snapshot_id "backup\\u{7}-1" holds control characters' },
      // CSI: "Source does not exist | 5 NOT_FOUND"; an id this driver cannot have issued names no source.
      { status: "NOT_FOUND", details: 'volume_content_source: snapshot "backup-1" (not an id of this driver) does not exist' },
      { status: "NOT_FOUND", details: 'volume_content_source: volume "storage-pool" (not an id of this driver) does not exist' },
    ]);
    expect(rig.sim.commandLog()).toEqual([]);
  });

  it("answers ValidateVolumeCapabilities without a confirmation, saying why, for what it cannot serve", async () => {
    const volume = await create({});
    const validate = (partial: csi.DeepPartial<csi.ValidateVolumeCapabilitiesRequest>) =>
      c.validateVolumeCapabilities(csi.ValidateVolumeCapabilitiesRequest.fromPartial({ volumeId: volume.volumeId, volumeCapabilities: [capability()], ...partial }));
    expect(await validate({ volumeCapabilities: [capability(Mode.MULTI_NODE_MULTI_WRITER)], parameters: { bogus: "1" }, mutableParameters: { iops: "1" } })).toEqual({
      confirmed: undefined,
      message: expect.stringMatching(/MULTI_NODE_MULTI_WRITER is supported for block volumes only.*; invalid StorageClass parameters: unknown parameter bogus.*; mutable_parameters are not supported$/),
    });
    // What the node would refuse to mount is not confirmed either (core checkMountOptions).
    const withFlags = (mountFlags: string[]) => csi.VolumeCapability.fromPartial({ mount: { mountFlags }, accessMode: { mode: Mode.SINGLE_NODE_WRITER } });
    expect(await validate({ volumeCapabilities: [withFlags(["noatime", "bogus"])] })).toEqual({
      confirmed: undefined,
      message: 'volume_capabilities[0].mount.mount_flags[1]: mount option "bogus" for ext4: it is not a known ext4 mount option (see docs/mount-options.md)',
    });
    expect(await validate({ volumeCapabilities: [withFlags(["noatime"])], volumeContext: { mountOptionsPolicy: "forbid" } })).toMatchObject({
      confirmed: undefined,
      message: expect.stringContaining("this StorageClass forbids mount options (mountOptionsPolicy=forbid)"),
    });
    expect((await validate({ volumeCapabilities: [withFlags(["nouuid"])], volumeContext: { fsType: "xfs" } })).confirmed).toBeDefined();
    expect((await validate({ parameters: { nvmePort: "4420" } })).confirmed).toEqual({
      volumeContext: {},
      volumeCapabilities: [capability()],
      parameters: { nvmePort: "4420" },
      mutableParameters: {},
    });
  });

  it("names snapshots snap-<uuidv5(name)> and lists nothing for ids and sources that cannot exist", async () => {
    const volume = await create({});
    const { snapshot } = await c.createSnapshot(csi.CreateSnapshotRequest.fromPartial({ name: "my-volume", sourceVolumeId: volume.volumeId }));
    snapshots.push(snapshot!.snapshotId);
    expect(snapshot).toMatchObject({ snapshotId: "snap-048fb259-4cb7-5f06-887c-eadbf0c29a0d", sizeBytes: GiB, readyToUse: true });
    expect(snapshot?.creationTime?.seconds).toBeGreaterThan(0n);
    for (const filter of [{ snapshotId: "backup-1" }, { sourceVolumeId: "storage-pool" }, { snapshotId: snapshot!.snapshotId, sourceVolumeId: "pvc-00000000-0000-4000-8000-000000000000" }]) {
      expect((await c.listSnapshots(csi.ListSnapshotsRequest.fromPartial(filter))).entries).toEqual([]);
    }
    await expect(statusOf(c.createSnapshot(csi.CreateSnapshotRequest.fromPartial({ name: "x", sourceVolumeId: volume.volumeId, parameters: { retain: "yes" } })))).resolves.toEqual({
      status: "INVALID_ARGUMENT",
      details: "invalid VolumeSnapshotClass parameters: unknown parameter(s) retain; this driver takes none",
    });
  });

  it("checks free space before growing or copying a volume", async () => {
    const volume = await create({ capacityRange: { requiredBytes: 60n * GiB } });
    const grow = c.controllerExpandVolume(csi.ControllerExpandVolumeRequest.fromPartial({ volumeId: volume.volumeId, capacityRange: { requiredBytes: 120n * GiB } }));
    await expect(statusOf(grow)).resolves.toEqual({
      status: "RESOURCE_EXHAUSTED",
      details: `not enough free space on the RDS for growing volume ${volume.volumeId} to 128849018880 bytes: 64424509440 bytes requested, 42949672960 bytes free`,
    });
    const copy = c.createSnapshot(csi.CreateSnapshotRequest.fromPartial({ name: "too-big", sourceVolumeId: volume.volumeId }));
    await expect(statusOf(copy)).resolves.toMatchObject({ status: "RESOURCE_EXHAUSTED", details: expect.stringContaining("64424509440 bytes requested") });
    expect(rig.sim.disks().map((disk) => disk.slot)).toEqual([volume.volumeId]);
  });

  it("places volumes in its topology segment only", async () => {
    const elsewhere = { requisite: [{ segments: { [TOPOLOGY.key]: "rack2" } }], preferred: [] };
    await expect(statusOf(c.createVolume(request({ accessibilityRequirements: elsewhere })))).resolves.toMatchObject({
      status: "RESOURCE_EXHAUSTED",
      details: expect.stringContaining(`accessible only from ${TOPOLOGY.key}=${TOPOLOGY.value}`),
    });
    const here = { requisite: [elsewhere.requisite[0]!, { segments: { [TOPOLOGY.key]: TOPOLOGY.value } }], preferred: [] };
    await create({ accessibilityRequirements: here });
  });

  it("reports free bytes, the size bounds, and no capacity for what it cannot serve", async () => {
    const capacity = (partial: csi.DeepPartial<csi.GetCapacityRequest>) => c.getCapacity(csi.GetCapacityRequest.fromPartial(partial));
    const all = await capacity({ volumeCapabilities: [capability()] });
    expect(all).toEqual({ availableCapacity: 100n * GiB, maximumVolumeSize: 100n * GiB, minimumVolumeSize: GiB });
    await create({ capacityRange: { requiredBytes: 10n * GiB } });
    expect((await capacity({})).availableCapacity).toBe(90n * GiB);
    expect(await capacity({ volumeCapabilities: [capability(Mode.MULTI_NODE_MULTI_WRITER)] })).toMatchObject({ availableCapacity: 0n });
    expect(await capacity({ accessibleTopology: { segments: { [TOPOLOGY.key]: "rack2" } } })).toMatchObject({ availableCapacity: 0n });
    await expect(statusOf(capacity({ parameters: { bogus: "1" } }))).resolves.toMatchObject({ status: "INVALID_ARGUMENT" });
  });

  it("answers ControllerModifyVolume with UNIMPLEMENTED and Probe with the connection's state", async () => {
    await expect(statusOf(c.controllerModifyVolume(csi.ControllerModifyVolumeRequest.fromPartial({ volumeId: "pvc-5b0c1f2e-0000-4000-8000-123456789abc" })))).resolves.toEqual({
      status: "UNIMPLEMENTED",
      details: "ControllerModifyVolume needs the MODIFY_VOLUME capability, which is not advertised: this driver does not offer it",
    });
    const { identity } = connection.clients;
    await waitFor(() => rig.controller.transport.state === "connected");
    expect(await callUnary(identity, identity.probe, {})).toEqual({ ready: true });
    const { capabilities } = await callUnary(identity, identity.getPluginCapabilities, {});
    expect(capabilities).toContainEqual({ service: { type: csi.PluginCapability_Service_Type.VOLUME_ACCESSIBILITY_CONSTRAINTS } });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
