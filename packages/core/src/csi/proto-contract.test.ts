import { BinaryReader } from "@bufbuild/protobuf/wire";
import {
  ControllerPublishVolumeRequest,
  CreateVolumeRequest,
  GetPluginInfoResponse,
  NodeGetInfoResponse,
  NodePublishVolumeRequest,
  NodeStageVolumeRequest,
  ProbeResponse,
  Volume,
  VolumeCapability,
  VolumeCapability_AccessMode_Mode as Mode,
  VolumeContentSource,
} from "./generated/csi/v1/csi.js";

/** Field numbers present at the top level of an encoded message, in wire order. */
function fieldNumbers(bytes: Uint8Array): number[] {
  const reader = new BinaryReader(bytes);
  const numbers: number[] = [];
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    numbers.push(fieldNo);
    reader.skip(wireType);
  }
  return numbers;
}

describe("CSI v1.10 wire contract", () => {
  it("round-trips a CreateVolumeRequest with capabilities, secrets and a content source", () => {
    const request = CreateVolumeRequest.fromPartial({
      name: "pvc-2f1c7c7e-8d4e-4c0e-9a55-0b1f6b7f1f00",
      capacityRange: { requiredBytes: 2n ** 60n + 1n, limitBytes: 2n ** 62n },
      volumeCapabilities: [
        { mount: { fsType: "xfs", mountFlags: ["noatime"] }, accessMode: { mode: Mode.SINGLE_NODE_WRITER } },
        { block: {}, accessMode: { mode: Mode.MULTI_NODE_MULTI_WRITER } },
      ],
      parameters: { fsType: "xfs", "csi.storage.k8s.io/pvc/name": "data" },
      secrets: { password: "hunter2" },
      volumeContentSource: { snapshot: { snapshotId: "snap-1" } },
      accessibilityRequirements: { requisite: [{ segments: { "topology.rds.csi.srvlab.io/zone": "default" } }] },
    });
    const decoded = CreateVolumeRequest.decode(CreateVolumeRequest.encode(request).finish());
    expect(decoded).toEqual(request);
    // 64-bit sizes must survive exactly: a rounded size is a different volume.
    expect(decoded.capacityRange?.requiredBytes).toBe(1152921504606846977n);
  });

  it("keeps the oneof arms of VolumeCapability and VolumeContentSource apart", () => {
    const block = VolumeCapability.decode(VolumeCapability.encode({ block: {}, mount: undefined, accessMode: undefined }).finish());
    expect(block.block).toEqual({});
    expect(block.mount).toBeUndefined();
    const source = VolumeContentSource.decode(VolumeContentSource.encode({ snapshot: undefined, volume: { volumeId: "pvc-a" } }).finish());
    expect(source).toEqual({ snapshot: undefined, volume: { volumeId: "pvc-a" } });
  });

  it("treats ProbeResponse.ready as a wrapper: absent, false and true are three different messages", () => {
    expect(ProbeResponse.encode({ ready: undefined }).finish()).toHaveLength(0);
    expect(ProbeResponse.decode(ProbeResponse.encode({ ready: false }).finish()).ready).toBe(false);
    expect(ProbeResponse.decode(ProbeResponse.encode({ ready: true }).finish()).ready).toBe(true);
  });

  // The numbers below are the spec's; a change to csi.proto that moves one breaks every sidecar.
  it.each([
    ["CreateVolumeRequest", CreateVolumeRequest.encode(CreateVolumeRequest.fromPartial({
      name: "n", capacityRange: { requiredBytes: 1n }, volumeCapabilities: [{}], parameters: { a: "b" }, secrets: { s: "t" },
      volumeContentSource: { volume: { volumeId: "v" } }, accessibilityRequirements: { requisite: [] }, mutableParameters: { m: "n" },
    })).finish(), [1, 2, 3, 4, 5, 6, 7, 8]],
    ["VolumeCapability", VolumeCapability.encode(VolumeCapability.fromPartial({ mount: { fsType: "ext4" }, accessMode: { mode: Mode.SINGLE_NODE_WRITER } })).finish(), [2, 3]],
    ["Volume", Volume.encode(Volume.fromPartial({
      capacityBytes: 1n, volumeId: "v", volumeContext: { a: "b" }, contentSource: { snapshot: { snapshotId: "s" } }, accessibleTopology: [{ segments: { z: "a" } }],
    })).finish(), [1, 2, 3, 4, 5]],
    ["ControllerPublishVolumeRequest", ControllerPublishVolumeRequest.encode(ControllerPublishVolumeRequest.fromPartial({
      volumeId: "v", nodeId: "n", volumeCapability: {}, readonly: true, secrets: { a: "b" }, volumeContext: { c: "d" },
    })).finish(), [1, 2, 3, 4, 5, 6]],
    ["NodeStageVolumeRequest", NodeStageVolumeRequest.encode(NodeStageVolumeRequest.fromPartial({
      volumeId: "v", publishContext: { a: "b" }, stagingTargetPath: "/s", volumeCapability: {}, secrets: { c: "d" }, volumeContext: { e: "f" },
    })).finish(), [1, 2, 3, 4, 5, 6]],
    ["NodePublishVolumeRequest", NodePublishVolumeRequest.encode(NodePublishVolumeRequest.fromPartial({
      volumeId: "v", publishContext: { a: "b" }, stagingTargetPath: "/s", targetPath: "/t", volumeCapability: {}, readonly: true,
      secrets: { c: "d" }, volumeContext: { e: "f" },
    })).finish(), [1, 2, 3, 4, 5, 6, 7, 8]],
    ["NodeGetInfoResponse", NodeGetInfoResponse.encode(NodeGetInfoResponse.fromPartial({
      nodeId: "n", maxVolumesPerNode: 8n, accessibleTopology: { segments: { z: "a" } },
    })).finish(), [1, 2, 3]],
    ["GetPluginInfoResponse", GetPluginInfoResponse.encode(GetPluginInfoResponse.fromPartial({
      name: "rds.csi.srvlab.io", vendorVersion: "1", manifest: { a: "b" },
    })).finish(), [1, 2, 3]],
  ] as const)("encodes %s with the spec's field numbers", (_name, bytes, expected) => {
    expect(fieldNumbers(bytes)).toEqual(expected);
  });

  it("uses the spec's access mode numbers", () => {
    expect([
      Mode.UNKNOWN, Mode.SINGLE_NODE_WRITER, Mode.SINGLE_NODE_READER_ONLY, Mode.MULTI_NODE_READER_ONLY,
      Mode.MULTI_NODE_SINGLE_WRITER, Mode.MULTI_NODE_MULTI_WRITER, Mode.SINGLE_NODE_SINGLE_WRITER, Mode.SINGLE_NODE_MULTI_WRITER,
    ]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
