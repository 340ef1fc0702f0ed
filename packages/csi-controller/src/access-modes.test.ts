import { csi, InvalidArgumentError } from "@rds-csi/core";
import { capabilityProblem, checkCapabilities, checkCapability } from "./access-modes.js";

const Mode = csi.VolumeCapability_AccessMode_Mode;
type AccessMode = csi.VolumeCapability_AccessMode_Mode;

const mount = (mode: AccessMode, fsType = "", mountFlags: string[] = []): csi.VolumeCapability => ({
  mount: { fsType, mountFlags, volumeMountGroup: "" },
  accessMode: { mode },
});
const block = (mode: AccessMode): csi.VolumeCapability => ({ block: {}, accessMode: { mode } });

describe("access modes", () => {
  it.each([Mode.SINGLE_NODE_WRITER, Mode.SINGLE_NODE_READER_ONLY, Mode.SINGLE_NODE_SINGLE_WRITER, Mode.SINGLE_NODE_MULTI_WRITER])(
    "serves single-node mode %s for mount and block",
    (mode) => {
      expect(capabilityProblem(mount(mode), "cap")).toBeUndefined();
      expect(capabilityProblem(block(mode), "cap")).toBeUndefined();
    },
  );

  it.each([Mode.MULTI_NODE_MULTI_WRITER, Mode.MULTI_NODE_READER_ONLY])("serves multi-node mode %s for block only", (mode) => {
    expect(capabilityProblem(block(mode), "cap")).toBeUndefined();
    expect(capabilityProblem(mount(mode), "cap")).toBe(
      `cap.access_mode ${csi.volumeCapability_AccessMode_ModeToJSON(mode)} is supported for block volumes only (volumeMode: Block); several nodes must never mount one ext4/xfs filesystem`,
    );
  });

  it("refuses MULTI_NODE_SINGLE_WRITER, naming it", () => {
    expect(() => checkCapability(block(Mode.MULTI_NODE_SINGLE_WRITER), "volume_capability")).toThrow(
      new InvalidArgumentError("volume_capability.access_mode MULTI_NODE_SINGLE_WRITER is not supported by this driver"),
    );
  });

  it("refuses malformed capabilities, naming the field", () => {
    expect(capabilityProblem(undefined, "volume_capability")).toBe("volume_capability is required");
    expect(capabilityProblem({ accessMode: { mode: Mode.SINGLE_NODE_WRITER } }, "c")).toBe("c must set exactly one access type, block or mount");
    expect(capabilityProblem({ ...mount(Mode.SINGLE_NODE_WRITER), block: {} }, "c")).toBe("c must set exactly one access type, block or mount");
    expect(capabilityProblem({ block: {}, accessMode: undefined }, "c")).toBe("c.access_mode is required");
    expect(capabilityProblem(block(Mode.UNKNOWN), "c")).toBe("c.access_mode is required");
    expect(capabilityProblem(mount(Mode.SINGLE_NODE_WRITER, "btrfs"), "c")).toBe('c.mount.fs_type "btrfs" is not supported; use ext4, xfs or ext3');
  });

  it("reduces a capability to what the handlers act on", () => {
    expect(checkCapability(mount(Mode.SINGLE_NODE_WRITER, "xfs", ["noatime"]), "c")).toEqual({
      mode: Mode.SINGLE_NODE_WRITER,
      accessType: "mount",
      fsType: "xfs",
      mountFlags: ["noatime"],
    });
    expect(checkCapability(block(Mode.MULTI_NODE_MULTI_WRITER), "c")).toEqual({
      mode: Mode.MULTI_NODE_MULTI_WRITER,
      accessType: "block",
      fsType: undefined,
      mountFlags: [],
    });
  });

  it("checks every capability of a list and refuses an empty one", () => {
    expect(() => checkCapabilities([], "volume_capabilities")).toThrow("volume_capabilities is required");
    expect(() => checkCapabilities([block(Mode.SINGLE_NODE_WRITER), mount(Mode.MULTI_NODE_MULTI_WRITER)], "volume_capabilities")).toThrow(
      /^volume_capabilities\[1\]\.access_mode MULTI_NODE_MULTI_WRITER/,
    );
  });
});
