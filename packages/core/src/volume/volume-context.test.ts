import { parseStorageClassParameters } from "./storage-class-parameters.js";
import { volumeContext } from "./volume-context.js";

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
