import { InvalidArgumentError } from "../errors.js";
import { checkRequestLimits, REQUEST_LIMITS } from "./request-limits.js";
import { CreateVolumeRequest, NodePublishVolumeRequest } from "./generated/csi/v1/csi.js";

const refusal = (request: unknown): string => {
  try {
    checkRequestLimits(request);
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err.message;
    throw err;
  }
  return "accepted";
};

describe("checkRequestLimits", () => {
  const max = REQUEST_LIMITS.stringBytes;

  it("names the field, in the proto's spelling, with its index or key", () => {
    expect(refusal(CreateVolumeRequest.fromPartial({ name: "n".repeat(max + 1) }))).toMatch(/^name is 1025 bytes long; at most 1024 are accepted/);
    expect(refusal(CreateVolumeRequest.fromPartial({ volumeCapabilities: [{ mount: { mountFlags: ["ro", "o".repeat(max + 1)] } }] }))).toMatch(
      /^volume_capabilities\[0\]\.mount\.mount_flags\[1\] is 1025 bytes long/,
    );
    expect(refusal(CreateVolumeRequest.fromPartial({ parameters: { fsType: "x".repeat(max + 1) } }))).toMatch(/^parameters\["fsType"\] is 1025 bytes long/);
    expect(refusal(CreateVolumeRequest.fromPartial({ parameters: { ["k".repeat(max + 1)]: "v" } }))).toMatch(/^a key of parameters is 1025 bytes long/);
  });

  it("counts bytes of UTF-8, not characters", () => {
    expect(refusal(CreateVolumeRequest.fromPartial({ name: "é".repeat(max / 2) }))).toBe("accepted");
    expect(refusal(CreateVolumeRequest.fromPartial({ name: `${"é".repeat(max / 2)}x` }))).toMatch(/^name is 1025 bytes long/);
  });

  it("lets paths reach PATH_MAX", () => {
    const path = `/${"p".repeat(REQUEST_LIMITS.pathBytes - 1)}`;
    expect(refusal(NodePublishVolumeRequest.fromPartial({ targetPath: path, stagingTargetPath: path }))).toBe("accepted");
    expect(refusal(NodePublishVolumeRequest.fromPartial({ targetPath: `${path}p` }))).toMatch(/^target_path is 4097 bytes long; at most 4096/);
  });

  it("bounds a map's keys and values together", () => {
    const parameters = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`key-${i}`, "v".repeat(1000)]));
    expect(refusal(CreateVolumeRequest.fromPartial({ parameters }))).toMatch(/^parameters holds \d+ bytes of keys and values; at most 16384 are accepted$/);
  });
});
