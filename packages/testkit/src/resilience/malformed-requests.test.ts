import { randomUUID } from "node:crypto";
import { status, type Client, Metadata } from "@grpc/grpc-js";
import { csi, GiB } from "@rds-csi/core";
import { callUnary } from "../csi-client.js";
import { faultScenario } from "../system/fault-ledger.js";
import { SystemRig } from "../system/system-rig.js";
import { isMutating } from "../bench/serial-bound.js";

/**
 * 1,000 malformed CSI requests against the running controller and node plugin: random values,
 * oversized strings, invalid UTF-8, missing fields. Each must be answered with the code the CSI spec
 * gives that mistake (never INTERNAL or UNKNOWN), none may change anything on the RDS or the node, and
 * both services must still serve a well-formed request afterwards.
 */
const REQUESTS = 1000;
const IN_FLIGHT = 16;
const Mode = csi.VolumeCapability_AccessMode_Mode;
const rwo = csi.VolumeCapability.fromPartial({ mount: { fsType: "ext4" }, accessMode: { mode: Mode.SINGLE_NODE_WRITER } });

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Malformed {
  readonly kind: string;
  /** What the CSI spec (or our documented limits) want for this mistake. */
  readonly expected: readonly number[];
  readonly send: (rig: SystemRig) => Promise<number>;
}

function code(call: Promise<unknown>): Promise<number> {
  return call.then(
    () => status.OK,
    (err: { code?: number }) => err.code ?? -1,
  );
}

/** Sends `body` as the raw request bytes of `path`: how a value that is not valid UTF-8 reaches the server. */
function raw(client: Client, path: string, body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, new Metadata(), { deadline: Date.now() + 10_000 }, (err) => resolve(err ? (err.code ?? -1) : status.OK));
  });
}

/** A protobuf length-delimited field (wire type 2) with a one- or two-byte length. */
function lengthDelimited(field: number, bytes: Buffer): Buffer {
  const length = bytes.length < 128 ? Buffer.from([bytes.length]) : Buffer.from([(bytes.length & 0x7f) | 0x80, bytes.length >> 7]);
  return Buffer.concat([Buffer.from([(field << 3) | 2]), length, bytes]);
}

function generators(next: () => number): ((rig: SystemRig) => Malformed)[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const printable = (length: number): string => Array.from({ length }, () => String.fromCharCode(0x21 + Math.floor(next() * 94))).join("");
  const control = (): string => `pvc-${printable(4)}${String.fromCharCode(pick([0, 1, 7, 10, 13, 27, 127]))}${printable(3)}`;
  // Over every field limit, within the whole-request limit (REQUEST_LIMITS.messageBytes, 256 KiB), so the answer is the field's.
  const huge = (): string => "x".repeat(64 * 1024 + Math.floor(next() * 128 * 1024));
  const ctl = (rig: SystemRig) => rig.controller!.clients.controller;
  const node = (rig: SystemRig) => [...rig.nodes.values()][0]!.plugin!.clients.node;
  const invalidUtf8 = (): Buffer => Buffer.concat([Buffer.from("pvc-"), Buffer.from(pick([[0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]))]);
  const I = status.INVALID_ARGUMENT;
  return [
    (rig) => ({ kind: "CreateVolume without a name", expected: [I], send: () => code(callUnary(ctl(rig), ctl(rig).createVolume, csi.CreateVolumeRequest.fromPartial({ volumeCapabilities: [rwo] }))) }),
    (rig) => ({ kind: "CreateVolume with an oversized name", expected: [I], send: () => code(callUnary(ctl(rig), ctl(rig).createVolume, csi.CreateVolumeRequest.fromPartial({ name: huge(), volumeCapabilities: [rwo] }))) }),
    (rig) => ({
      kind: "ControllerPublishVolume with a control character in the volume id",
      expected: [I],
      send: () => code(callUnary(ctl(rig), ctl(rig).controllerPublishVolume, csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: control(), nodeId: "node-a", volumeCapability: rwo }))),
    }),
    (rig) => ({ kind: "CreateVolume without capabilities", expected: [I], send: () => code(callUnary(ctl(rig), ctl(rig).createVolume, csi.CreateVolumeRequest.fromPartial({ name: `pvc-${randomUUID()}` }))) }),
    (rig) => ({
      kind: "CreateVolume with a name that is not UTF-8",
      expected: [I],
      send: () => raw(ctl(rig), "/csi.v1.Controller/CreateVolume", Buffer.concat([lengthDelimited(1, invalidUtf8()), Buffer.from(csi.CreateVolumeRequest.encode(csi.CreateVolumeRequest.fromPartial({ volumeCapabilities: [rwo] })).finish())])),
    }),
    (rig) => ({
      kind: "CreateVolume with a parameter value that is not UTF-8",
      expected: [I],
      send: () => {
        const entry = Buffer.concat([lengthDelimited(1, Buffer.from("fsType")), lengthDelimited(2, invalidUtf8())]);
        const rest = Buffer.from(csi.CreateVolumeRequest.encode(csi.CreateVolumeRequest.fromPartial({ name: `pvc-${randomUUID()}`, volumeCapabilities: [rwo] })).finish());
        return raw(ctl(rig), "/csi.v1.Controller/CreateVolume", Buffer.concat([rest, lengthDelimited(4, entry)]));
      },
    }),
    (rig) => ({
      kind: "CreateVolume with an impossible capacity range",
      expected: [I, status.OUT_OF_RANGE],
      send: () => code(callUnary(ctl(rig), ctl(rig).createVolume, csi.CreateVolumeRequest.fromPartial({ name: `pvc-${randomUUID()}`, volumeCapabilities: [rwo], capacityRange: { requiredBytes: 10n * GiB, limitBytes: GiB } }))),
    }),
    (rig) => ({ kind: "DeleteVolume without an id", expected: [I], send: () => code(callUnary(ctl(rig), ctl(rig).deleteVolume, { volumeId: "", secrets: {} })) }),
    (rig) => ({ kind: "DeleteVolume with a control character in the id", expected: [I], send: () => code(callUnary(ctl(rig), ctl(rig).deleteVolume, { volumeId: control(), secrets: {} })) }),
    (rig) => ({ kind: "DeleteVolume with an oversized id", expected: [I], send: () => code(callUnary(ctl(rig), ctl(rig).deleteVolume, { volumeId: huge(), secrets: {} })) }),
    // CSI DeleteVolume: "If a volume corresponding to the specified volume_id does not exist or the artifacts
    // associated with the volume do not exist anymore, the Plugin MUST reply 0 OK."
    (rig) => ({ kind: "DeleteVolume of an unknown id", expected: [status.OK], send: () => code(callUnary(ctl(rig), ctl(rig).deleteVolume, { volumeId: `unknown-${printable(12).replace(/[^A-Za-z0-9]/g, "a")}`, secrets: {} })) }),
    (rig) => ({
      kind: "ControllerPublishVolume of an unknown volume",
      expected: [status.NOT_FOUND],
      send: () => code(callUnary(ctl(rig), ctl(rig).controllerPublishVolume, csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: `pvc-${randomUUID()}`, nodeId: "node-a", volumeCapability: rwo }))),
    }),
    (rig) => ({
      kind: "ControllerPublishVolume without a node",
      expected: [I],
      send: () => code(callUnary(ctl(rig), ctl(rig).controllerPublishVolume, csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: `pvc-${randomUUID()}`, volumeCapability: rwo }))),
    }),
    (rig) => ({
      kind: "ValidateVolumeCapabilities without capabilities",
      expected: [I],
      send: () => code(callUnary(ctl(rig), ctl(rig).validateVolumeCapabilities, csi.ValidateVolumeCapabilitiesRequest.fromPartial({ volumeId: `pvc-${randomUUID()}` }))),
    }),
    (rig) => ({
      kind: "NodeStageVolume outside the kubelet directory",
      expected: [I],
      send: () => code(callUnary(node(rig), node(rig).nodeStageVolume, csi.NodeStageVolumeRequest.fromPartial({ volumeId: `pvc-${randomUUID()}`, stagingTargetPath: `/tmp/${printable(8).replace(/[^A-Za-z0-9]/g, "b")}`, volumeCapability: rwo, publishContext: {} }))),
    }),
    (rig) => ({
      kind: "NodeStageVolume with a NUL in the path",
      expected: [I],
      send: () => code(callUnary(node(rig), node(rig).nodeStageVolume, csi.NodeStageVolumeRequest.fromPartial({ volumeId: `pvc-${randomUUID()}`, stagingTargetPath: `${rig.kubeletPaths("node-a", "x").staging}\u0000x`, volumeCapability: rwo }))),
    }),
    (rig) => ({
      kind: "NodeStageVolume without a capability",
      expected: [I],
      send: () => code(callUnary(node(rig), node(rig).nodeStageVolume, csi.NodeStageVolumeRequest.fromPartial({ volumeId: `pvc-${randomUUID()}`, stagingTargetPath: rig.kubeletPaths("node-a", `pvc-${randomUUID()}`).staging }))),
    }),
    (rig) => ({
      kind: "NodePublishVolume with an oversized target path",
      expected: [I],
      send: () => code(callUnary(node(rig), node(rig).nodePublishVolume, csi.NodePublishVolumeRequest.fromPartial({ volumeId: `pvc-${randomUUID()}`, targetPath: `/${huge()}`, stagingTargetPath: "/x", volumeCapability: rwo }))),
    }),
    (rig) => ({
      kind: "NodeGetVolumeStats of a volume that is not here",
      expected: [status.NOT_FOUND],
      send: () => code(callUnary(node(rig), node(rig).nodeGetVolumeStats, csi.NodeGetVolumeStatsRequest.fromPartial({ volumeId: `pvc-${randomUUID()}`, volumePath: rig.kubeletPaths("node-a", `pvc-${randomUUID()}`).target }))),
    }),
  ];
}

let rig: SystemRig;

beforeAll(async () => {
  rig = await SystemRig.start();
  await rig.startController();
  if (process.getuid?.() === 0) await rig.startNode("node-a");
}, 60_000);

afterAll(async () => {
  await rig.stop();
});

test(`${REQUESTS} malformed CSI requests: each answered with its code, nothing changed, both services still serve`, async () => {
  await faultScenario("malformed-csi-requests", async (inject) => {
    const next = random(20261207);
    const makers = generators(next).filter((make) => rig.nodes.size > 0 || !make(rig).kind.startsWith("Node"));
    rig.sim.clearCommandLog();
    const wrong = new Map<string, string>();
    let sent = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (sent < REQUESTS) {
          sent++;
          const request = makers[Math.floor(next() * makers.length)]!(rig);
          const answer = await request.send(rig);
          inject();
          if (!request.expected.includes(answer)) wrong.set(request.kind, `answered ${status[answer] ?? answer}, expected ${request.expected.map((c) => status[c]).join(" or ")}`);
        }
      }),
    );
    expect(Object.fromEntries(wrong)).toEqual({});
    // Nothing reached the RDS that could change it, and nothing was made there.
    expect(rig.sim.commandLog().filter(isMutating).map((entry) => entry.command)).toEqual([]);
    // Both services still serve a well-formed request.
    const ctl = rig.controller!.clients.controller;
    const { volume } = await callUnary(ctl, ctl.createVolume, csi.CreateVolumeRequest.fromPartial({ name: `pvc-${randomUUID()}`, capacityRange: { requiredBytes: GiB }, volumeCapabilities: [rwo] }));
    expect(volume?.volumeId).toBeTruthy();
    for (const host of rig.nodes.values()) expect((await callUnary(host.plugin!.clients.identity, host.plugin!.clients.identity.probe, {})).ready).toBe(true);
  });
}, 180_000);
