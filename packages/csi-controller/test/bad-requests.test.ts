import { csi, FS_TYPE_PARAMETER, GiB, REQUEST_LIMITS } from "@rds-csi/core";
import type { RdsSimulator } from "@rds-csi/rds-simulator";
import { callRawUnary, callUnary, connectCsi, openHttp2Channel, type CsiClients } from "@rds-csi/testkit";
import { GrpcStatus, statusOf } from "./sanity/grpc-status.js";
import { FakePublishArbiter } from "./support/fake-publish-arbiter.js";
import { startSimulatedController, type SimulatedController } from "./support/in-process-controller.js";

const Mode = csi.VolumeCapability_AccessMode_Mode;
const capability = csi.VolumeCapability.fromPartial({ mount: {}, accessMode: { mode: Mode.SINGLE_NODE_WRITER } });

let rig: SimulatedController;
let sim: RdsSimulator;
let clients: CsiClients;

beforeAll(async () => {
  rig = await startSimulatedController("rds-csi-bad-requests-", {
    // Snapshots and clones are served, so their RPCs reach the id checks.
    copyTrust: "verified",
    arbiter: new FakePublishArbiter(["node-a"]),
  });
  sim = rig.sim;
  clients = connectCsi(rig.controller.endpoint);
});

afterAll(async () => {
  clients.close();
  await rig.stop();
});

/** Runs `call` and returns its status together with the RDS commands it caused. */
async function withCommands(call: () => Promise<unknown>): Promise<{ status: string; details: string; commands: string[] }> {
  const before = sim.commandLog().length;
  const { status, details } = await statusOf(call());
  return { status, details, commands: sim.commandLog().slice(before).map((entry) => entry.command) };
}

const c = () => clients.controller;
type Rpc = (id: string) => Promise<unknown>;

const rpcs: Record<string, Rpc> = {
  DeleteVolume: (id) => callUnary(c(), c().deleteVolume, csi.DeleteVolumeRequest.fromPartial({ volumeId: id })),
  DeleteSnapshot: (id) => callUnary(c(), c().deleteSnapshot, csi.DeleteSnapshotRequest.fromPartial({ snapshotId: id })),
  ControllerUnpublishVolume: (id) =>
    callUnary(c(), c().controllerUnpublishVolume, csi.ControllerUnpublishVolumeRequest.fromPartial({ volumeId: id, nodeId: "node-a" })),
  ControllerPublishVolume: (id) =>
    callUnary(c(), c().controllerPublishVolume, csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: id, nodeId: "node-a", volumeCapability: capability })),
  ValidateVolumeCapabilities: (id) =>
    callUnary(c(), c().validateVolumeCapabilities, csi.ValidateVolumeCapabilitiesRequest.fromPartial({ volumeId: id, volumeCapabilities: [capability] })),
  ControllerGetVolume: (id) => callUnary(c(), c().controllerGetVolume, csi.ControllerGetVolumeRequest.fromPartial({ volumeId: id })),
  ControllerExpandVolume: (id) =>
    callUnary(c(), c().controllerExpandVolume, csi.ControllerExpandVolumeRequest.fromPartial({ volumeId: id, capacityRange: { requiredBytes: 2n * GiB } })),
  "CreateVolume from a snapshot": (id) =>
    callUnary(c(), c().createVolume, csi.CreateVolumeRequest.fromPartial({ name: "restore", volumeCapabilities: [capability], volumeContentSource: { snapshot: { snapshotId: id } } })),
  "CreateVolume from a volume": (id) =>
    callUnary(c(), c().createVolume, csi.CreateVolumeRequest.fromPartial({ name: "clone", volumeCapabilities: [capability], volumeContentSource: { volume: { volumeId: id } } })),
  CreateSnapshot: (id) => callUnary(c(), c().createSnapshot, csi.CreateSnapshotRequest.fromPartial({ name: "snap", sourceVolumeId: id })),
};

describe("ids that are not of this driver's form", () => {
  // Well-formed for some driver, but never one of ours (ours are pvc-<uuid> / snap-<uuid>).
  const foreign = ["vol-0a1b2c3d4e5f", "storage-pool", "../x", "pvc-NOT-A-UUID", "snap-1234"];
  // What the CSI spec asks for a volume or snapshot that does not exist.
  const expected: Record<string, string> = {
    DeleteVolume: "OK",
    DeleteSnapshot: "OK",
    ControllerUnpublishVolume: "OK",
    ControllerPublishVolume: "NOT_FOUND",
    ValidateVolumeCapabilities: "NOT_FOUND",
    ControllerGetVolume: "NOT_FOUND",
    ControllerExpandVolume: "NOT_FOUND",
    "CreateVolume from a snapshot": "NOT_FOUND",
    "CreateVolume from a volume": "NOT_FOUND",
    CreateSnapshot: "NOT_FOUND",
  };

  it.each(Object.keys(rpcs))("%s answers as for an id that does not exist, and no command reaches the RDS", async (rpc) => {
    for (const id of foreign) {
      const outcome = await withCommands(() => rpcs[rpc]!(id));
      expect({ id, status: outcome.status, commands: outcome.commands }).toEqual({ id, status: expected[rpc], commands: [] });
    }
  });

  it.each(Object.keys(rpcs))("%s refuses ids malformed for any driver with INVALID_ARGUMENT, before any command", async (rpc) => {
    for (const id of ["", "v".repeat(129), "pvc-\n0a1b", "tab\there", "nul\u0000"]) {
      const outcome = await withCommands(() => rpcs[rpc]!(id));
      expect({ id, status: outcome.status, commands: outcome.commands }).toEqual({ id, status: "INVALID_ARGUMENT", commands: [] });
    }
  });
});

const rawCall = (method: string, bytes: Buffer): Promise<Buffer> => callRawUnary(rig.controller.endpoint, `/csi.v1.Controller/${method}`, bytes);

/** The encoded request with every occurrence of `marker` replaced by `bytes` (same length, so lengths stay right). */
function withBytes(encoded: Uint8Array, marker: string, bytes: number[]): Buffer {
  const buffer = Buffer.from(encoded);
  const at = buffer.indexOf(marker, 0, "latin1");
  expect(at).toBeGreaterThanOrEqual(0);
  Buffer.from(bytes).copy(buffer, at);
  return buffer;
}

describe("string fields that are not valid UTF-8", () => {
  const createBytes = (name: string, parameters: Record<string, string> = {}): Uint8Array =>
    csi.CreateVolumeRequest.encode(csi.CreateVolumeRequest.fromPartial({ name, volumeCapabilities: [capability], parameters })).finish();

  it("are refused with INVALID_ARGUMENT, so two different byte strings never map to one volume", async () => {
    // "n\xffme" and "n\xfeme" both decode to "n\ufffdme" when invalid bytes are replaced.
    for (const bytes of [[0x6e, 0xff, 0x6d, 0x65], [0x6e, 0xfe, 0x6d, 0x65], [0x6e, 0xc3, 0x28, 0x65], [0x6e, 0xed, 0xa0, 0x80]]) {
      const outcome = await withCommands(() => rawCall("CreateVolume", withBytes(createBytes("NAME"), "NAME", bytes)));
      expect(outcome).toEqual({ status: "INVALID_ARGUMENT", details: "a string field of the request is not valid UTF-8", commands: [] });
    }
    // In a map value and in a nested message (the capability's fs_type), too.
    const inMap = withBytes(createBytes("utf8-map", { fsType: "FSTY" }), "FSTY", [0x65, 0x78, 0xff, 0x34]);
    expect(await withCommands(() => rawCall("CreateVolume", inMap))).toMatchObject({ status: "INVALID_ARGUMENT", commands: [] });
    const nested = csi.CreateVolumeRequest.encode(
      csi.CreateVolumeRequest.fromPartial({ name: "utf8-nested", volumeCapabilities: [{ ...capability, mount: { fsType: "FSTY", mountFlags: [] } }] }),
    ).finish();
    expect(await withCommands(() => rawCall("CreateVolume", withBytes(nested, "FSTY", [0x78, 0xc0, 0xaf, 0x73])))).toMatchObject({ status: "INVALID_ARGUMENT", commands: [] });
    expect(sim.disks()).toEqual([]);
  });

  it("are told apart from valid UTF-8 that spells U+FFFD itself", async () => {
    const response = csi.CreateVolumeResponse.decode(await rawCall("CreateVolume", Buffer.from(createBytes("n\ufffdme"))));
    expect(response.volume?.volumeId).toMatch(/^pvc-/);
    await callUnary(c(), c().deleteVolume, csi.DeleteVolumeRequest.fromPartial({ volumeId: response.volume!.volumeId }));
  });

  it("bytes that are not a protobuf message at all are INVALID_ARGUMENT, not INTERNAL", async () => {
    expect(await withCommands(() => rawCall("CreateVolume", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])))).toMatchObject({
      status: "INVALID_ARGUMENT",
      details: "the request is not a valid protobuf message",
      commands: [],
    });
  });
});

describe("long values", () => {
  const KiB = 1 << 10;
  const values = (size: number): Record<string, csi.DeepPartial<csi.CreateVolumeRequest>> => {
    const base = { name: "long", volumeCapabilities: [capability] };
    return {
      "a parameter value": { ...base, parameters: { [FS_TYPE_PARAMETER]: "x".repeat(size) } },
      "a parameter key": { ...base, parameters: { ["k".repeat(size)]: "v" } },
      "the name": { ...base, name: "n".repeat(size) },
      "a mount flag": { ...base, volumeCapabilities: [{ ...capability, mount: { fsType: "", mountFlags: ["o".repeat(size)] } }] },
    };
  };

  // Before the caps, a 100 KB value's status never reached the caller (DEADLINE_EXCEEDED although the
  // service answered) and other calls on the HTTP/2 connection stalled 5–10 s: the calls' deadlines, not a
  // stopwatch, tell those outcomes apart, so the test holds on a loaded machine.
  it("a value over its field's limit in a request within the message limit is refused with INVALID_ARGUMENT naming it, and a concurrent call on the connection is answered, both within their deadlines", async () => {
    const size = 100 * KiB;
    const requests = values(size);
    const outcomes = [];
    for (const [what, request] of Object.entries(requests)) {
      const refused = withCommands(() => callUnary(c(), c().createVolume, csi.CreateVolumeRequest.fromPartial(request), { deadlineMs: 5_000 }));
      const other = statusOf(callUnary(c(), c().controllerGetCapabilities, {}, { deadlineMs: 5_000 }));
      const { status, details, commands } = await refused;
      outcomes.push({ what, status, short: details.length < 300, named: details.includes(`is ${size} bytes long; at most 1024 are accepted`), commands, other: (await other).status });
    }
    const expected = Object.keys(requests).map((what) => ({ what, status: "INVALID_ARGUMENT", short: true, named: true, commands: [], other: "OK" }));
    expect(outcomes).toEqual(expected);
  });

  it("a request over the message limit is refused with RESOURCE_EXHAUSTED from its length prefix, before its body is sent, while other calls on the connection are answered", async () => {
    // Each request sends its first 16 KiB and holds the rest: only an answer made from the length
    // prefix can come back. Read whole, these requests would cost the controller megabytes each.
    const channel = openHttp2Channel(rig.controller.endpoint);
    try {
      const flood = Object.entries(values(1024 * KiB)).flatMap(([what, request]) =>
        Array.from({ length: 8 }, () => ({ what, bytes: csi.CreateVolumeRequest.encode(csi.CreateVolumeRequest.fromPartial(request)).finish() })),
      );
      const held = flood.map(({ what, bytes }) =>
        channel.call("/csi.v1.Controller/CreateVolume", bytes, { sendBytes: 16 * KiB, deadlineMs: 5_000 }).then(({ code, details }) => ({ what, code, details, size: bytes.length })),
      );
      const capabilities = await channel.call("/csi.v1.Controller/ControllerGetCapabilities", csi.ControllerGetCapabilitiesRequest.encode({}).finish(), { deadlineMs: 5_000 });
      expect(capabilities.code).toBe(GrpcStatus.OK);
      expect(csi.ControllerGetCapabilitiesResponse.decode(capabilities.response).capabilities.length).toBeGreaterThan(0);
      for (const { what, code, details, size } of await Promise.all(held)) {
        expect({ what, code, details }).toEqual({
          what,
          code: GrpcStatus.RESOURCE_EXHAUSTED,
          details: expect.stringMatching(new RegExp(`larger than max \\(${size} vs\\.? ${REQUEST_LIMITS.messageBytes}\\)`)),
        });
      }
    } finally {
      channel.close();
    }
    expect(sim.disks()).toEqual([]);
  });

  it("values up to the documented limits are accepted", async () => {
    const name = "n".repeat(REQUEST_LIMITS.stringBytes);
    const { volume } = await callUnary(c(), c().createVolume, csi.CreateVolumeRequest.fromPartial({ name, volumeCapabilities: [capability] }));
    await callUnary(c(), c().deleteVolume, csi.DeleteVolumeRequest.fromPartial({ volumeId: volume!.volumeId }));
    const over = await statusOf(callUnary(c(), c().createVolume, csi.CreateVolumeRequest.fromPartial({ name: `${name}n`, volumeCapabilities: [capability] })));
    expect(over).toEqual({ status: "INVALID_ARGUMENT", details: expect.stringContaining(`name is ${REQUEST_LIMITS.stringBytes + 1} bytes long`) });
  });
});
