import { randomUUID } from "node:crypto";
import { csi } from "@rds-csi/core";
import { statusOf, type GrpcStatusName } from "./grpc-status.js";

type Definition = csi.ControllerService;
type RequestOf<K extends keyof Definition> = Definition[K] extends { requestDeserialize(bytes: Buffer): infer R } ? R : never;
type ResponseOf<K extends keyof Definition> = Definition[K] extends { responseDeserialize(bytes: Buffer): infer R } ? R : never;

/** The Controller service of the endpoint under test, one async function per RPC. */
export type ControllerCaller = {
  readonly [K in keyof Definition]: (request: RequestOf<K>, settings?: { readonly deadlineMs?: number }) => Promise<ResponseOf<K>>;
};

export interface ControllerConnection {
  readonly controller: ControllerCaller;
  close(): void;
}

export interface ControllerSanityOptions {
  /** `unix:///…/csi.sock` of the controller under test; read when the suite starts. */
  readonly endpoint: () => string;
  /** Opens a gRPC client on the endpoint (the test builds it from testkit's connectCsi and callUnary). */
  readonly connect: (endpoint: string) => ControllerConnection;
  /** A node id ControllerPublishVolume accepts. */
  readonly nodeId: () => string;
  /** A node id it must refuse with NOT_FOUND. */
  readonly unknownNodeId?: string;
  /** Size of test volumes; the default, 1 GiB, suits most backends (csi-sanity's 10 GiB does not). */
  readonly volumeBytes?: bigint;
  /** StorageClass parameters for every CreateVolume. */
  readonly parameters?: Readonly<Record<string, string>>;
  readonly accessType?: "mount" | "block";
}

const Rpc = csi.ControllerServiceCapability_RPC_Type;
const Mode = csi.VolumeCapability_AccessMode_Mode;

/**
 * A CSI Controller conformance suite, written from the CSI specification (v1.10): every RPC's success
 * path, its idempotency, the error codes the spec assigns, pagination that survives concurrent changes,
 * and the snapshot, clone and expansion flows. It drives any controller endpoint over gRPC and reads
 * the endpoint's capabilities first: an advertised capability is checked in full; for one that is not
 * advertised, the suite checks the answer the spec gives for it (UNIMPLEMENTED for snapshot RPCs,
 * INVALID_ARGUMENT for an unsupported content source). Volumes and snapshots it makes are removed after
 * each test.
 */
export function describeControllerSanity(options: ControllerSanityOptions): void {
  const size = options.volumeBytes ?? 1024n ** 3n;
  const parameters = options.parameters ?? {};
  const unknownNode = options.unknownNodeId ?? "sanity-no-such-node";

  let connection: ControllerConnection;
  let c: ControllerCaller;
  let served: ReadonlySet<csi.ControllerServiceCapability_RPC_Type>;
  const volumes = new Set<string>();
  const snapshots = new Set<string>();
  const advertised = (capability: csi.ControllerServiceCapability_RPC_Type): boolean => served.has(capability);

  const capability = (mode = Mode.SINGLE_NODE_WRITER): csi.VolumeCapability =>
    csi.VolumeCapability.fromPartial(options.accessType === "block" ? { block: {}, accessMode: { mode } } : { mount: {}, accessMode: { mode } });
  const name = (): string => `sanity-${randomUUID()}`;
  const createRequest = (partial: csi.DeepPartial<csi.CreateVolumeRequest> = {}): csi.CreateVolumeRequest =>
    csi.CreateVolumeRequest.fromPartial({
      name: name(),
      capacityRange: { requiredBytes: size },
      volumeCapabilities: [capability()],
      parameters,
      ...partial,
    });

  async function create(partial: csi.DeepPartial<csi.CreateVolumeRequest> = {}): Promise<csi.Volume> {
    const { volume } = await c.createVolume(createRequest(partial));
    if (!volume) throw new Error("CreateVolume answered without a volume");
    volumes.add(volume.volumeId);
    return volume;
  }

  async function snapshot(sourceVolumeId: string, snapshotName = name()): Promise<csi.Snapshot> {
    const { snapshot: made } = await c.createSnapshot(csi.CreateSnapshotRequest.fromPartial({ name: snapshotName, sourceVolumeId }));
    if (!made) throw new Error("CreateSnapshot answered without a snapshot");
    snapshots.add(made.snapshotId);
    return made;
  }

  /** A volume id that existed and is gone: the only unknown id valid for every driver's grammar. */
  async function deletedVolumeId(): Promise<string> {
    const { volumeId } = await create();
    await c.deleteVolume(csi.DeleteVolumeRequest.fromPartial({ volumeId }));
    volumes.delete(volumeId);
    return volumeId;
  }

  async function expectStatus(call: Promise<unknown>, status: GrpcStatusName, details?: RegExp | string): Promise<void> {
    const outcome = await statusOf(call);
    expect(outcome.status).toBe(status);
    if (details !== undefined) expect(outcome.details).toMatch(details);
  }

  async function listAllVolumes(maxEntries: number): Promise<csi.ListVolumesResponse_Entry[]> {
    const entries: csi.ListVolumesResponse_Entry[] = [];
    let startingToken = "";
    do {
      const page = await c.listVolumes({ maxEntries, startingToken });
      if (maxEntries > 0) expect(page.entries.length).toBeLessThanOrEqual(maxEntries);
      entries.push(...page.entries);
      startingToken = page.nextToken;
    } while (startingToken !== "");
    return entries;
  }

  beforeAll(async () => {
    connection = options.connect(options.endpoint());
    c = connection.controller;
    const { capabilities } = await c.controllerGetCapabilities({});
    served = new Set(capabilities.flatMap((entry) => (entry.rpc ? [entry.rpc.type] : [])));
  });

  afterAll(() => connection.close());

  afterEach(async () => {
    // Leftovers of a failed test must not leak into the next one; their own failures are not the subject.
    await Promise.allSettled([...snapshots].map((snapshotId) => c.deleteSnapshot(csi.DeleteSnapshotRequest.fromPartial({ snapshotId }))));
    snapshots.clear();
    await Promise.allSettled(
      [...volumes].map(async (volumeId) => {
        if (advertised(Rpc.PUBLISH_UNPUBLISH_VOLUME)) await c.controllerUnpublishVolume(csi.ControllerUnpublishVolumeRequest.fromPartial({ volumeId }));
        await c.deleteVolume(csi.DeleteVolumeRequest.fromPartial({ volumeId }));
      }),
    );
    volumes.clear();
  });

  describe("ControllerGetCapabilities", () => {
    it("lists only capabilities the spec defines, each once", async () => {
      const { capabilities } = await c.controllerGetCapabilities({});
      const types = capabilities.map((entry) => entry.rpc?.type ?? Rpc.UNKNOWN);
      for (const type of types) expect(type > Rpc.UNKNOWN && type <= Rpc.MODIFY_VOLUME).toBe(true);
      expect(new Set(types).size).toBe(types.length);
    });
  });

  describe("CreateVolume", () => {
    it("is INVALID_ARGUMENT without a name", async () => {
      await expectStatus(c.createVolume(createRequest({ name: "" })), "INVALID_ARGUMENT", /name/);
    });

    it("is INVALID_ARGUMENT without capabilities, or with one that names no access type", async () => {
      await expectStatus(c.createVolume(createRequest({ volumeCapabilities: [] })), "INVALID_ARGUMENT", /volume_capabilities/);
      const noAccessType = csi.VolumeCapability.fromPartial({ accessMode: { mode: Mode.SINGLE_NODE_WRITER } });
      await expectStatus(c.createVolume(createRequest({ volumeCapabilities: [noAccessType] })), "INVALID_ARGUMENT", /volume_capabilities/);
    });

    it("makes a volume of at least the required size and answers a repeat with the same volume, to the byte", async () => {
      const request = createRequest();
      const first = await c.createVolume(request);
      volumes.add(first.volume!.volumeId);
      expect(first.volume!.volumeId).not.toBe("");
      expect(first.volume!.capacityBytes).toBeGreaterThanOrEqual(size);
      expect(await c.createVolume(request)).toEqual(first);
    });

    it("is ALREADY_EXISTS for a known name with an incompatible size", async () => {
      const request = createRequest({ capacityRange: { requiredBytes: size, limitBytes: size } });
      volumes.add((await c.createVolume(request)).volume!.volumeId);
      const bigger = { ...request, capacityRange: { requiredBytes: 2n * size, limitBytes: 2n * size } };
      await expectStatus(c.createVolume(bigger), "ALREADY_EXISTS");
    });

    it("is OUT_OF_RANGE when limit_bytes is below required_bytes", async () => {
      await expectStatus(c.createVolume(createRequest({ capacityRange: { requiredBytes: 2n * size, limitBytes: size } })), "OUT_OF_RANGE");
    });

    it("accepts names of 128 characters", async () => {
      const long = "s".repeat(100) + randomUUID().replaceAll("-", "").slice(0, 28);
      const first = await create({ name: long });
      expect((await c.createVolume(createRequest({ name: long }))).volume!.volumeId).toBe(first.volumeId);
    });

    it("makes distinct volumes for distinct names at the same time", async () => {
      const made = await Promise.all([1, 2, 3, 4].map(() => create()));
      expect(new Set(made.map((volume) => volume.volumeId)).size).toBe(4);
    });
  });

  describe("DeleteVolume", () => {
    it("is INVALID_ARGUMENT without a volume id", async () => {
      await expectStatus(c.deleteVolume(csi.DeleteVolumeRequest.fromPartial({})), "INVALID_ARGUMENT", /volume_id/);
    });

    it("deletes a volume, and succeeds again for the volume that is gone", async () => {
      const volumeId = await deletedVolumeId();
      await expectStatus(c.deleteVolume(csi.DeleteVolumeRequest.fromPartial({ volumeId })), "OK");
    });
  });

  describe("ValidateVolumeCapabilities", () => {
    it("is INVALID_ARGUMENT without a volume id or capabilities", async () => {
      const { volumeId } = await create();
      await expectStatus(
        c.validateVolumeCapabilities(csi.ValidateVolumeCapabilitiesRequest.fromPartial({ volumeCapabilities: [capability()] })),
        "INVALID_ARGUMENT",
        /volume_id/,
      );
      await expectStatus(c.validateVolumeCapabilities(csi.ValidateVolumeCapabilitiesRequest.fromPartial({ volumeId })), "INVALID_ARGUMENT", /volume_capabilities/);
    });

    it("is NOT_FOUND for a volume that does not exist", async () => {
      const volumeId = await deletedVolumeId();
      await expectStatus(
        c.validateVolumeCapabilities(csi.ValidateVolumeCapabilitiesRequest.fromPartial({ volumeId, volumeCapabilities: [capability()] })),
        "NOT_FOUND",
      );
    });

    it("confirms the capability a volume was made with", async () => {
      const volume = await create();
      const answer = await c.validateVolumeCapabilities(
        csi.ValidateVolumeCapabilitiesRequest.fromPartial({ volumeId: volume.volumeId, volumeCapabilities: [capability()], volumeContext: volume.volumeContext, parameters }),
      );
      expect(answer.confirmed?.volumeCapabilities).toEqual([capability()]);
    });
  });

  describe("ControllerPublishVolume and ControllerUnpublishVolume", () => {
    const publishRequest = (partial: csi.DeepPartial<csi.ControllerPublishVolumeRequest>): csi.ControllerPublishVolumeRequest =>
      csi.ControllerPublishVolumeRequest.fromPartial({ nodeId: options.nodeId(), volumeCapability: capability(), ...partial });

    it("is INVALID_ARGUMENT without a volume id, node id or capability", async () => {
      if (!advertised(Rpc.PUBLISH_UNPUBLISH_VOLUME)) return;
      const { volumeId } = await create();
      await expectStatus(c.controllerPublishVolume(publishRequest({})), "INVALID_ARGUMENT", /volume_id/);
      await expectStatus(c.controllerPublishVolume(publishRequest({ volumeId, nodeId: "" })), "INVALID_ARGUMENT", /node_id/);
      const noCapability = csi.ControllerPublishVolumeRequest.fromPartial({ volumeId, nodeId: options.nodeId() });
      await expectStatus(c.controllerPublishVolume(noCapability), "INVALID_ARGUMENT", /volume_capability/);
      await expectStatus(c.controllerUnpublishVolume(csi.ControllerUnpublishVolumeRequest.fromPartial({ nodeId: options.nodeId() })), "INVALID_ARGUMENT", /volume_id/);
    });

    it("is NOT_FOUND for a volume or a node that does not exist", async () => {
      if (!advertised(Rpc.PUBLISH_UNPUBLISH_VOLUME)) return;
      await expectStatus(c.controllerPublishVolume(publishRequest({ volumeId: await deletedVolumeId() })), "NOT_FOUND");
      const { volumeId } = await create();
      await expectStatus(c.controllerPublishVolume(publishRequest({ volumeId, nodeId: unknownNode })), "NOT_FOUND");
    });

    it("publishes and unpublishes, each idempotently", async () => {
      if (!advertised(Rpc.PUBLISH_UNPUBLISH_VOLUME)) return;
      const volume = await create();
      const request = publishRequest({ volumeId: volume.volumeId, volumeContext: volume.volumeContext });
      const first = await c.controllerPublishVolume(request);
      expect(await c.controllerPublishVolume(request)).toEqual(first);
      const unpublish = csi.ControllerUnpublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: options.nodeId() });
      await expectStatus(c.controllerUnpublishVolume(unpublish), "OK");
      await expectStatus(c.controllerUnpublishVolume(unpublish), "OK");
    });

    it("unpublishes a volume that no longer exists", async () => {
      if (!advertised(Rpc.PUBLISH_UNPUBLISH_VOLUME)) return;
      const volumeId = await deletedVolumeId();
      await expectStatus(c.controllerUnpublishVolume(csi.ControllerUnpublishVolumeRequest.fromPartial({ volumeId, nodeId: options.nodeId() })), "OK");
    });
  });

  describe("ListVolumes", () => {
    it("is ABORTED for a token it did not issue, INVALID_ARGUMENT for negative max_entries", async () => {
      if (!advertised(Rpc.LIST_VOLUMES)) return;
      await expectStatus(c.listVolumes({ maxEntries: 0, startingToken: `not-a-token-${randomUUID()}` }), "ABORTED");
      await expectStatus(c.listVolumes({ maxEntries: -1, startingToken: "" }), "INVALID_ARGUMENT", /max_entries/);
    });

    it("lists volumes that exist and not those deleted, in pages", async () => {
      if (!advertised(Rpc.LIST_VOLUMES)) return;
      const made = await Promise.all([1, 2, 3, 4, 5].map(() => create()));
      const gone = await deletedVolumeId();
      const listed = (await listAllVolumes(2)).map((entry) => entry.volume!.volumeId);
      expect(new Set(listed).size).toBe(listed.length);
      for (const volume of made) expect(listed).toContain(volume.volumeId);
      expect(listed).not.toContain(gone);
      const capacities = new Map((await listAllVolumes(0)).map((entry) => [entry.volume!.volumeId, entry.volume!.capacityBytes]));
      for (const volume of made) expect(capacities.get(volume.volumeId)).toBe(volume.capacityBytes);
    });

    it("keeps its tokens valid while volumes are added and removed", async () => {
      if (!advertised(Rpc.LIST_VOLUMES)) return;
      const made = await Promise.all([1, 2, 3, 4, 5, 6].map(() => create()));
      const ours = (entries: csi.ListVolumesResponse_Entry[]): string[] =>
        entries.map((entry) => entry.volume!.volumeId).filter((id) => made.some((volume) => volume.volumeId === id));
      const first = await c.listVolumes({ maxEntries: 2, startingToken: "" });
      expect(first.nextToken).not.toBe("");
      const seen = first.entries.map((entry) => entry.volume!.volumeId);
      const listed = ours(first.entries)[0];
      expect(listed).toBeDefined();
      // Between pages: one listed volume and one not yet listed go away, a new one arrives.
      const unlisted = made.find((volume) => !seen.includes(volume.volumeId))!;
      for (const volumeId of [listed!, unlisted.volumeId]) {
        await c.deleteVolume(csi.DeleteVolumeRequest.fromPartial({ volumeId }));
        volumes.delete(volumeId);
      }
      await create();
      const rest: csi.ListVolumesResponse_Entry[] = [];
      let token = first.nextToken;
      while (token !== "") {
        const page = await c.listVolumes({ maxEntries: 2, startingToken: token });
        rest.push(...page.entries);
        token = page.nextToken;
      }
      const all = [...seen, ...rest.map((entry) => entry.volume!.volumeId)];
      expect(new Set(all).size).toBe(all.length);
      expect(all).not.toContain(unlisted.volumeId);
      // Every volume that existed throughout the listing is listed exactly once.
      const throughout = made.map((volume) => volume.volumeId).filter((id) => id !== listed && id !== unlisted.volumeId);
      expect([...ours(first.entries), ...ours(rest)].filter((id) => throughout.includes(id)).sort()).toEqual([...throughout].sort());
    });

    it("reports the nodes a volume is published to", async () => {
      if (!advertised(Rpc.LIST_VOLUMES_PUBLISHED_NODES) || !advertised(Rpc.PUBLISH_UNPUBLISH_VOLUME)) return;
      const volume = await create();
      await c.controllerPublishVolume(
        csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: options.nodeId(), volumeCapability: capability(), volumeContext: volume.volumeContext }),
      );
      const entry = (await listAllVolumes(0)).find((candidate) => candidate.volume?.volumeId === volume.volumeId);
      expect(entry?.status?.publishedNodeIds).toEqual([options.nodeId()]);
      await c.controllerUnpublishVolume(csi.ControllerUnpublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: options.nodeId() }));
      const after = (await listAllVolumes(0)).find((candidate) => candidate.volume?.volumeId === volume.volumeId);
      expect(after?.status?.publishedNodeIds).toEqual([]);
    });
  });

  describe("ControllerGetVolume", () => {
    it("is INVALID_ARGUMENT without a volume id and NOT_FOUND for a volume that does not exist", async () => {
      if (!advertised(Rpc.GET_VOLUME)) return;
      await expectStatus(c.controllerGetVolume({ volumeId: "" }), "INVALID_ARGUMENT", /volume_id/);
      await expectStatus(c.controllerGetVolume({ volumeId: await deletedVolumeId() }), "NOT_FOUND");
    });

    it("returns the volume as made, with its condition when VOLUME_CONDITION is advertised", async () => {
      if (!advertised(Rpc.GET_VOLUME)) return;
      const volume = await create();
      const answer = await c.controllerGetVolume({ volumeId: volume.volumeId });
      expect(answer.volume).toMatchObject({ volumeId: volume.volumeId, capacityBytes: volume.capacityBytes });
      if (advertised(Rpc.VOLUME_CONDITION)) expect(answer.status?.volumeCondition).toMatchObject({ abnormal: false });
    });
  });

  describe("GetCapacity", () => {
    it("reports capacity, with a minimum not above the maximum", async () => {
      if (!advertised(Rpc.GET_CAPACITY)) return;
      const answer = await c.getCapacity(csi.GetCapacityRequest.fromPartial({ volumeCapabilities: [capability()], parameters }));
      expect(answer.availableCapacity).toBeGreaterThanOrEqual(0n);
      if (answer.minimumVolumeSize !== undefined && answer.maximumVolumeSize !== undefined && answer.availableCapacity >= answer.minimumVolumeSize) {
        expect(answer.minimumVolumeSize).toBeLessThanOrEqual(answer.maximumVolumeSize);
      }
    });
  });

  describe("ControllerExpandVolume", () => {
    it("is INVALID_ARGUMENT without a volume id or a capacity range, NOT_FOUND for a volume that does not exist", async () => {
      if (!advertised(Rpc.EXPAND_VOLUME)) return;
      const { volumeId } = await create();
      await expectStatus(c.controllerExpandVolume(csi.ControllerExpandVolumeRequest.fromPartial({ capacityRange: { requiredBytes: 2n * size } })), "INVALID_ARGUMENT", /volume_id/);
      await expectStatus(c.controllerExpandVolume(csi.ControllerExpandVolumeRequest.fromPartial({ volumeId })), "INVALID_ARGUMENT", /capacity_range/);
      await expectStatus(
        c.controllerExpandVolume(csi.ControllerExpandVolumeRequest.fromPartial({ volumeId: await deletedVolumeId(), capacityRange: { requiredBytes: 2n * size } })),
        "NOT_FOUND",
      );
    });

    it("grows a volume, and answers a repeat with the same size", async () => {
      if (!advertised(Rpc.EXPAND_VOLUME)) return;
      const { volumeId } = await create();
      const request = csi.ControllerExpandVolumeRequest.fromPartial({ volumeId, capacityRange: { requiredBytes: 2n * size }, volumeCapability: capability() });
      const grown = await c.controllerExpandVolume(request);
      expect(grown.capacityBytes).toBeGreaterThanOrEqual(2n * size);
      expect((await c.controllerExpandVolume(request)).capacityBytes).toBe(grown.capacityBytes);
      if (advertised(Rpc.GET_VOLUME)) expect((await c.controllerGetVolume({ volumeId })).volume?.capacityBytes).toBe(grown.capacityBytes);
    });
  });

  describe("CreateSnapshot and DeleteSnapshot", () => {
    it("is UNIMPLEMENTED when CREATE_DELETE_SNAPSHOT is not advertised", async () => {
      if (advertised(Rpc.CREATE_DELETE_SNAPSHOT)) return;
      const { volumeId } = await create();
      await expectStatus(c.createSnapshot(csi.CreateSnapshotRequest.fromPartial({ name: name(), sourceVolumeId: volumeId })), "UNIMPLEMENTED");
      await expectStatus(c.deleteSnapshot(csi.DeleteSnapshotRequest.fromPartial({ snapshotId: "sanity-snapshot" })), "UNIMPLEMENTED");
    });

    it("is INVALID_ARGUMENT without a name, a source or a snapshot id", async () => {
      if (!advertised(Rpc.CREATE_DELETE_SNAPSHOT)) return;
      const { volumeId } = await create();
      await expectStatus(c.createSnapshot(csi.CreateSnapshotRequest.fromPartial({ sourceVolumeId: volumeId })), "INVALID_ARGUMENT", /name/);
      await expectStatus(c.createSnapshot(csi.CreateSnapshotRequest.fromPartial({ name: name() })), "INVALID_ARGUMENT", /source_volume_id/);
      await expectStatus(c.deleteSnapshot(csi.DeleteSnapshotRequest.fromPartial({})), "INVALID_ARGUMENT", /snapshot_id/);
    });

    it("makes a ready snapshot of its source and answers a repeat with the same snapshot", async () => {
      if (!advertised(Rpc.CREATE_DELETE_SNAPSHOT)) return;
      const volume = await create();
      const snapshotName = name();
      const made = await snapshot(volume.volumeId, snapshotName);
      expect(made).toMatchObject({ sourceVolumeId: volume.volumeId, readyToUse: true });
      expect(made.snapshotId).not.toBe("");
      expect(made.sizeBytes).toBeGreaterThan(0n);
      const again = await snapshot(volume.volumeId, snapshotName);
      expect(again).toMatchObject({ snapshotId: made.snapshotId, sizeBytes: made.sizeBytes, sourceVolumeId: volume.volumeId });
    });

    it("is ALREADY_EXISTS for a known name with another source, NOT_FOUND for a source that does not exist", async () => {
      if (!advertised(Rpc.CREATE_DELETE_SNAPSHOT)) return;
      const [one, other] = await Promise.all([create(), create()]);
      const snapshotName = name();
      await snapshot(one.volumeId, snapshotName);
      await expectStatus(c.createSnapshot(csi.CreateSnapshotRequest.fromPartial({ name: snapshotName, sourceVolumeId: other.volumeId })), "ALREADY_EXISTS");
      await expectStatus(c.createSnapshot(csi.CreateSnapshotRequest.fromPartial({ name: name(), sourceVolumeId: await deletedVolumeId() })), "NOT_FOUND");
    });

    it("deletes a snapshot, and succeeds again for the snapshot that is gone", async () => {
      if (!advertised(Rpc.CREATE_DELETE_SNAPSHOT)) return;
      const { snapshotId } = await snapshot((await create()).volumeId);
      await expectStatus(c.deleteSnapshot(csi.DeleteSnapshotRequest.fromPartial({ snapshotId })), "OK");
      await expectStatus(c.deleteSnapshot(csi.DeleteSnapshotRequest.fromPartial({ snapshotId })), "OK");
      snapshots.delete(snapshotId);
    });
  });

  describe("ListSnapshots", () => {
    it("is UNIMPLEMENTED when LIST_SNAPSHOTS is not advertised", async () => {
      if (advertised(Rpc.LIST_SNAPSHOTS)) return;
      await expectStatus(c.listSnapshots(csi.ListSnapshotsRequest.fromPartial({})), "UNIMPLEMENTED");
    });

    it("lists by id, by source and in pages; an unknown id lists nothing; a foreign token is ABORTED", async () => {
      if (!advertised(Rpc.LIST_SNAPSHOTS) || !advertised(Rpc.CREATE_DELETE_SNAPSHOT)) return;
      const [one, other] = await Promise.all([create(), create()]);
      const ofOne = [await snapshot(one.volumeId), await snapshot(one.volumeId)];
      const ofOther = await snapshot(other.volumeId);
      const byId = await c.listSnapshots(csi.ListSnapshotsRequest.fromPartial({ snapshotId: ofOther.snapshotId }));
      expect(byId.entries.map((entry) => entry.snapshot?.snapshotId)).toEqual([ofOther.snapshotId]);
      const bySource = await c.listSnapshots(csi.ListSnapshotsRequest.fromPartial({ sourceVolumeId: one.volumeId }));
      expect(bySource.entries.map((entry) => entry.snapshot?.snapshotId).sort()).toEqual(ofOne.map((made) => made.snapshotId).sort());

      const paged: string[] = [];
      let startingToken = "";
      do {
        const page = await c.listSnapshots(csi.ListSnapshotsRequest.fromPartial({ maxEntries: 1, startingToken }));
        expect(page.entries.length).toBeLessThanOrEqual(1);
        paged.push(...page.entries.map((entry) => entry.snapshot!.snapshotId));
        startingToken = page.nextToken;
      } while (startingToken !== "");
      for (const made of [...ofOne, ofOther]) expect(paged.filter((id) => id === made.snapshotId)).toHaveLength(1);

      await c.deleteSnapshot(csi.DeleteSnapshotRequest.fromPartial({ snapshotId: ofOther.snapshotId }));
      snapshots.delete(ofOther.snapshotId);
      expect((await c.listSnapshots(csi.ListSnapshotsRequest.fromPartial({ snapshotId: ofOther.snapshotId }))).entries).toEqual([]);
      await expectStatus(c.listSnapshots(csi.ListSnapshotsRequest.fromPartial({ startingToken: `not-a-token-${randomUUID()}` })), "ABORTED");
    });
  });

  describe("CreateVolume from a snapshot", () => {
    it("is INVALID_ARGUMENT when CREATE_DELETE_SNAPSHOT is not advertised", async () => {
      if (advertised(Rpc.CREATE_DELETE_SNAPSHOT)) return;
      await expectStatus(c.createVolume(createRequest({ volumeContentSource: { snapshot: { snapshotId: "sanity-snapshot" } } })), "INVALID_ARGUMENT");
    });

    it("restores a snapshot into a volume that names its source", async () => {
      if (!advertised(Rpc.CREATE_DELETE_SNAPSHOT)) return;
      const made = await snapshot((await create()).volumeId);
      const source = { snapshot: { snapshotId: made.snapshotId } };
      const restored = await create({ volumeContentSource: source });
      expect(restored.contentSource).toEqual(csi.VolumeContentSource.fromPartial(source));
      expect(restored.capacityBytes).toBeGreaterThanOrEqual(made.sizeBytes);
    });

    it("is NOT_FOUND for a snapshot that does not exist, OUT_OF_RANGE for a size below the snapshot's", async () => {
      if (!advertised(Rpc.CREATE_DELETE_SNAPSHOT)) return;
      const made = await snapshot((await create({ capacityRange: { requiredBytes: 2n * size } })).volumeId);
      const smaller = createRequest({ capacityRange: { requiredBytes: size, limitBytes: size }, volumeContentSource: { snapshot: { snapshotId: made.snapshotId } } });
      await expectStatus(c.createVolume(smaller), "OUT_OF_RANGE");
      await c.deleteSnapshot(csi.DeleteSnapshotRequest.fromPartial({ snapshotId: made.snapshotId }));
      snapshots.delete(made.snapshotId);
      await expectStatus(c.createVolume(createRequest({ volumeContentSource: { snapshot: { snapshotId: made.snapshotId } } })), "NOT_FOUND");
    });
  });

  describe("CreateVolume from a volume (clone)", () => {
    it("is INVALID_ARGUMENT when CLONE_VOLUME is not advertised", async () => {
      if (advertised(Rpc.CLONE_VOLUME)) return;
      const { volumeId } = await create();
      await expectStatus(c.createVolume(createRequest({ volumeContentSource: { volume: { volumeId } } })), "INVALID_ARGUMENT");
    });

    it("clones a volume into one that names its source; NOT_FOUND for a source that does not exist", async () => {
      if (!advertised(Rpc.CLONE_VOLUME)) return;
      const source = await create();
      const clone = await create({ volumeContentSource: { volume: { volumeId: source.volumeId } } });
      expect(clone.contentSource?.volume?.volumeId).toBe(source.volumeId);
      expect(clone.capacityBytes).toBeGreaterThanOrEqual(source.capacityBytes);
      await expectStatus(c.createVolume(createRequest({ volumeContentSource: { volume: { volumeId: await deletedVolumeId() } } })), "NOT_FOUND");
    });
  });
}
