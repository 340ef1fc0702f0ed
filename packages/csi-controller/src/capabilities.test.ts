import { csi, UnimplementedError, type CallContext } from "@rds-csi/core";
import { controllerCapabilities, notServed, requireCapability } from "./capabilities.js";
import type { ControllerDependencies } from "./controller-dependencies.js";
import { controllerExpandVolume } from "./controller-expand-volume.js";
import { controllerGetVolume } from "./controller-get-volume.js";
import { controllerPublishVolume } from "./controller-publish-volume.js";
import { controllerUnpublishVolume } from "./controller-unpublish-volume.js";
import { createSnapshot } from "./create-snapshot.js";
import { createVolume } from "./create-volume.js";
import { deleteSnapshot } from "./delete-snapshot.js";
import { deleteVolume } from "./delete-volume.js";
import { getCapacity } from "./get-capacity.js";
import { listSnapshots } from "./list-snapshots.js";
import { listVolumes } from "./list-volumes.js";

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

describe("every controller RPC checks its capability first (STYLE rule 1)", () => {
  // No capability served and dependencies that fail the test when touched: an empty (invalid) request
  // must come back UNIMPLEMENTED naming the capability, not INVALID_ARGUMENT, and nothing may be called.
  const untouchable = new Proxy({}, {
    get: (_target, property) => {
      throw new Error(`dependency touched before the capability check: ${String(property)}`);
    },
  });
  const deps = new Proxy({ capabilities: new Set() } as unknown as ControllerDependencies, {
    get: (target, property) => (property === "capabilities" ? target.capabilities : untouchable),
  });
  const context = untouchable as CallContext;

  it.each([
    ["CreateVolume", "CREATE_DELETE_VOLUME", () => createVolume(deps, csi.CreateVolumeRequest.fromPartial({}), context)],
    ["DeleteVolume", "CREATE_DELETE_VOLUME", () => deleteVolume(deps, csi.DeleteVolumeRequest.fromPartial({}), context)],
    ["ControllerPublishVolume", "PUBLISH_UNPUBLISH_VOLUME", () => controllerPublishVolume(deps, csi.ControllerPublishVolumeRequest.fromPartial({}), context)],
    ["ControllerUnpublishVolume", "PUBLISH_UNPUBLISH_VOLUME", () => controllerUnpublishVolume(deps, csi.ControllerUnpublishVolumeRequest.fromPartial({}), context)],
    ["ListVolumes", "LIST_VOLUMES", () => listVolumes(deps, csi.ListVolumesRequest.fromPartial({ startingToken: "bad" }), context)],
    ["GetCapacity", "GET_CAPACITY", () => getCapacity(deps, csi.GetCapacityRequest.fromPartial({}), context)],
    ["ControllerExpandVolume", "EXPAND_VOLUME", () => controllerExpandVolume(deps, csi.ControllerExpandVolumeRequest.fromPartial({}), context)],
    ["ControllerGetVolume", "GET_VOLUME", () => controllerGetVolume(deps, csi.ControllerGetVolumeRequest.fromPartial({}), context)],
    ["CreateSnapshot", "CREATE_DELETE_SNAPSHOT", () => createSnapshot(deps, csi.CreateSnapshotRequest.fromPartial({}), context)],
    ["DeleteSnapshot", "CREATE_DELETE_SNAPSHOT", () => deleteSnapshot(deps, csi.DeleteSnapshotRequest.fromPartial({}), context)],
    ["ListSnapshots", "LIST_SNAPSHOTS", () => listSnapshots(deps, csi.ListSnapshotsRequest.fromPartial({ startingToken: "bad" }), context)],
  ])("%s needs %s", async (rpc, capability, call) => {
    await expect(call()).rejects.toThrow(UnimplementedError);
    await expect(call()).rejects.toThrow(new RegExp(`^${rpc} needs the ${capability} capability`));
  });
});
