import { parseStorageClassParameters } from "./storage-class-parameters.js";
import { nvmeAddressOf, parseVolumeContext, volumeContext } from "./volume-context.js";

const defaults = { nvmePort: 4420, nvmeAddress: "10.0.0.5", basePath: "/raid10/csi" };

describe("volumeContext", () => {
  const parameters = parseStorageClassParameters({ ctrlLossTmo: "60" }, defaults);

  it("carries the connection read back from the RDS and the node settings", () => {
    expect(volumeContext({ nqn: "nqn.2000-02.com.mikrotik:pvc-1", port: 4421 }, parameters, "xfs")).toEqual({
      nvmeAddress: "10.0.0.5",
      nvmePort: "4421",
      nqn: "nqn.2000-02.com.mikrotik:pvc-1",
      fsType: "xfs",
      ctrlLossTmo: "60",
      reconnectDelay: "5",
      keepAliveTmo: "0",
      mountOptionsPolicy: "allow",
    });
  });

  it("names no filesystem for a raw block volume", () => {
    expect(volumeContext({ nqn: "n", port: 4420 }, parameters, undefined)).not.toHaveProperty("fsType");
  });
});

describe("parseVolumeContext", () => {
  const parameters = parseStorageClassParameters({ ctrlLossTmo: "-1", keepAliveTmo: "7", mountOptionsPolicy: "forbid" }, defaults);

  it("reads what volumeContext wrote", () => {
    expect(parseVolumeContext(volumeContext({ nqn: "n", port: 4420 }, parameters, "xfs"))).toEqual({
      fsType: "xfs",
      connect: { ctrlLossTmo: -1, reconnectDelay: 5, keepAliveTmo: 7 },
      mountOptionsPolicy: "forbid",
    });
  });

  it("takes the defaults for keys a volume of the earlier Go driver does not carry", () => {
    expect(parseVolumeContext({ nvmeAddress: "10.0.0.5", nvmePort: "4420", nqn: "n" })).toEqual({
      fsType: undefined,
      connect: { ctrlLossTmo: 1800, reconnectDelay: 5, keepAliveTmo: 0 },
      mountOptionsPolicy: "allow",
    });
  });

  it.each([
    [{ ctrlLossTmo: "86401" }, 'volume_context "ctrlLossTmo" must be an integer from -1 to 86400, got "86401"'],
    [{ reconnectDelay: "0" }, 'volume_context "reconnectDelay" must be an integer from 1 to 3600, got "0"'],
    [{ keepAliveTmo: "1e3" }, 'volume_context "keepAliveTmo" must be an integer from 0 to 3600, got "1e3"'],
    [{ fsType: "btrfs" }, 'volume_context "fsType" "btrfs" is not supported; use ext4, xfs or ext3'],
    [{ mountOptionsPolicy: "sometimes" }, 'volume_context "mountOptionsPolicy" must be one of allow, forbid, got "sometimes"'],
  ])("refuses %j naming the key", (context, message) => {
    expect(() => parseVolumeContext(context)).toThrow(message);
  });
});

describe("nvmeAddressOf", () => {
  it("reads nvmeAddress, else the earlier Go driver's rdsAddress, else nothing", () => {
    expect(nvmeAddressOf({ nvmeAddress: "10.0.0.5", rdsAddress: "10.0.0.9" })).toBe("10.0.0.5");
    expect(nvmeAddressOf({ rdsAddress: "10.0.0.9" })).toBe("10.0.0.9");
    expect(nvmeAddressOf({ nvmeAddress: "" })).toBeUndefined();
  });
});
