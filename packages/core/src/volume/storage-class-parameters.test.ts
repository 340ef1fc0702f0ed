import { InvalidArgumentError } from "../errors.js";
import { parseStorageClassParameters, unknownParameterKeys } from "./storage-class-parameters.js";

const defaults = { nvmePort: 4420, nvmeAddress: "10.0.0.5", basePath: "/raid10/csi" };

describe("parseStorageClassParameters", () => {
  it("applies the controller's and the node's defaults", () => {
    expect(parseStorageClassParameters({}, defaults)).toEqual({
      fsType: undefined,
      nvmePort: 4420,
      nvmeAddress: "10.0.0.5",
      ctrlLossTmo: 1800,
      reconnectDelay: 5,
      keepAliveTmo: 0,
      mountOptionsPolicy: "allow",
    });
  });

  it("reads every parameter the driver knows", () => {
    const parsed = parseStorageClassParameters(
      {
        nvmePort: "4421",
        nvmeAddress: "fd00::5",
        volumePath: "/raid10/csi",
        ctrlLossTmo: "-1",
        reconnectDelay: "10",
        keepAliveTmo: "30",
        mountOptionsPolicy: "forbid",
        migrationWindowSeconds: "600",
        "csi.storage.k8s.io/fstype": "xfs",
      },
      defaults,
    );
    expect(parsed).toEqual({
      fsType: "xfs",
      nvmePort: 4421,
      nvmeAddress: "fd00::5",
      ctrlLossTmo: -1,
      reconnectDelay: 10,
      keepAliveTmo: 30,
      mountOptionsPolicy: "forbid",
    });
  });

  it("ignores the keys the CSI sidecars reserve", () => {
    expect(() =>
      parseStorageClassParameters({ "csi.storage.k8s.io/pvc/name": "data", "csi.storage.k8s.io/provisioner-secret-name": "s" }, defaults),
    ).not.toThrow();
  });

  it("names every unknown parameter and every bad value in one INVALID_ARGUMENT", () => {
    const parse = (): unknown =>
      parseStorageClassParameters(
        { zeta: "1", alpha: "2", nvmePort: "http", ctrlLossTmo: "-2", reconnectDelay: "0", keepAliveTmo: "1.5", "csi.storage.k8s.io/fstype": "btrfs" },
        defaults,
      );
    expect(parse).toThrow(InvalidArgumentError);
    expect(parse).toThrow(/^invalid StorageClass parameters: unknown parameters alpha, zeta \(known: nvmePort, /);
    for (const part of [
      'parameters.nvmePort "http" must be a whole number from 1 to 65535',
      'parameters.ctrlLossTmo "-2" must be a whole number from -1 to 86400',
      'parameters.reconnectDelay "0" must be a whole number from 1 to 3600',
      'parameters.keepAliveTmo "1.5" must be a whole number from 0 to 3600',
      'parameters.csi.storage.k8s.io/fstype "btrfs" is not supported; use ext4, xfs or ext3',
    ]) {
      expect(parse).toThrow(part);
    }
  });

  it("refuses an address nvme connect cannot use, a foreign base path and an unknown policy", () => {
    expect(() => parseStorageClassParameters({ nvmeAddress: "rds.example.org" }, defaults)).toThrow(
      'parameters.nvmeAddress "rds.example.org" must be an IPv4 or IPv6 address',
    );
    expect(() => parseStorageClassParameters({}, { ...defaults, nvmeAddress: "rds.lan" })).toThrow('parameters.nvmeAddress "rds.lan"');
    expect(() => parseStorageClassParameters({ volumePath: "/raid10/other" }, defaults)).toThrow(
      'parameters.volumePath "/raid10/other" differs from the controller\'s base path /raid10/csi',
    );
    expect(() => parseStorageClassParameters({ mountOptionsPolicy: "sometimes" }, defaults)).toThrow(
      'parameters.mountOptionsPolicy "sometimes" must be one of allow, forbid',
    );
  });

  it("lists unknown keys sorted, without the reserved ones", () => {
    expect(unknownParameterKeys({ b: "", a: "", "csi.storage.k8s.io/x": "", known: "" }, ["known"])).toEqual(["a", "b"]);
  });
});
