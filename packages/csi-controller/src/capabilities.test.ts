import { csi, UnimplementedError } from "@rds-csi/core";
import { controllerCapabilities, notServed, requireCapability } from "./capabilities.js";

const Rpc = csi.ControllerServiceCapability_RPC_Type;
const names = (set: ReadonlySet<csi.ControllerServiceCapability_RPC_Type>): string[] =>
  [...set].map((type) => csi.controllerServiceCapability_RPC_TypeToJSON(type)).sort();

const BASE = [
  "CREATE_DELETE_VOLUME",
  "EXPAND_VOLUME",
  "GET_CAPACITY",
  "GET_VOLUME",
  "LIST_VOLUMES",
  "LIST_VOLUMES_PUBLISHED_NODES",
  "PUBLISH_UNPUBLISH_VOLUME",
  "SINGLE_NODE_MULTI_WRITER",
  "VOLUME_CONDITION",
];

describe("controller capabilities", () => {
  it("offers snapshots and clones only with a verified copy strategy", () => {
    expect(names(controllerCapabilities({ copyTrust: "unverified", topology: false }))).toEqual(BASE);
    expect(names(controllerCapabilities({ copyTrust: "verified", topology: false }))).toEqual(
      [...BASE, "CLONE_VOLUME", "CREATE_DELETE_SNAPSHOT", "LIST_SNAPSHOTS"].sort(),
    );
  });

  it("enforces the list it advertises with UNIMPLEMENTED, saying why", () => {
    const unverified = controllerCapabilities({ copyTrust: "unverified", topology: false });
    expect(() => requireCapability(unverified, Rpc.CREATE_DELETE_VOLUME, "CreateVolume")).not.toThrow();
    expect(() => requireCapability(unverified, Rpc.LIST_SNAPSHOTS, "ListSnapshots")).toThrow(
      new UnimplementedError(
        "ListSnapshots needs the LIST_SNAPSHOTS capability, which is not advertised: the copy strategy is not verified on this RDS (run the self-check, then set --copy-strategy-trust=verified)",
      ),
    );
    expect(notServed(Rpc.MODIFY_VOLUME, "ControllerModifyVolume").message).toBe(
      "ControllerModifyVolume needs the MODIFY_VOLUME capability, which is not advertised: this driver does not offer it",
    );
  });
});
