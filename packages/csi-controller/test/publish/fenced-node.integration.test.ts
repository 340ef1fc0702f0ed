import { csi, GiB } from "@rds-csi/core";
import { FENCE_ANNOTATION, OUT_OF_SERVICE_TAINT, type KubeNode } from "@rds-csi/core/k8s";
import { setExportAllowList } from "@rds-csi/core/routeros";
import { callUnary } from "@rds-csi/testkit";
import { statusOf } from "../sanity/grpc-status.js";
import { eventually } from "../support/eventually.js";
import { DRIVER, hostNqn, startPublishRig, type PublishRig } from "../support/publish-rig.js";

// A fenced node must get no volume back from the controller: the attachment-reconciler took its host
// off the exports it held, and for an RWX volume (a live migration) any later allow-list write would
// put it back beside the node the workload moved to while its old connections may still write.

const rwxBlock = csi.VolumeCapability.fromPartial({ block: {}, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.MULTI_NODE_MULTI_WRITER } });

let rig: PublishRig;

beforeEach(async () => {
  rig = await startPublishRig({ tempPrefix: "rds-csi-controller-fenced-", hostAccessControl: true, copyTrust: "unverified", nodes: ["node-a", "node-b"] });
});

afterEach(() => rig.stop());

/** An RWX block volume on the RDS with its PV, published to node-a and node-b as the external-attacher does it. */
async function volumeOnTwoNodes(): Promise<csi.Volume> {
  const created = await callUnary(rig.clients.controller, rig.clients.controller.createVolume, csi.CreateVolumeRequest.fromPartial({ name: "pvc-vm", capacityRange: { requiredBytes: GiB }, volumeCapabilities: [rwxBlock] }));
  const volume = created.volume!;
  rig.api.put("PersistentVolume", {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "pvc-vm" },
    spec: { accessModes: ["ReadWriteMany"], volumeMode: "Block", csi: { driver: DRIVER, volumeHandle: volume.volumeId } },
  });
  for (const node of ["node-a", "node-b"]) {
    rig.putAttachment(volume.volumeId, node, "pvc-vm", false);
    expect(await statusOf(publish(volume, node))).toEqual({ status: "OK", details: "" });
    rig.putAttachment(volume.volumeId, node, "pvc-vm", true);
  }
  await eventually(async () => expect(await rig.arbiter.publishedNodes(volume.volumeId)).toEqual(["node-a", "node-b"]));
  expect(rig.allowedHosts(volume.volumeId)).toEqual([hostNqn("node-a"), hostNqn("node-b")]);
  return volume;
}

function publish(volume: csi.Volume, node: string): Promise<csi.ControllerPublishVolumeResponse> {
  const request = csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: node, volumeCapability: rwxBlock, volumeContext: volume.volumeContext });
  return callUnary(rig.clients.controller, rig.clients.controller.controllerPublishVolume, request);
}

/**
 * node-a fenced as the attachment-reconciler writes it: the fence record on the Node (`record`), its
 * host taken off the export through core's allow-list writer, and the out-of-service taint (`taint`).
 */
async function fence(volumeId: string, how: { record: boolean; taint: boolean }): Promise<void> {
  const node = rig.api.get("Node", undefined, "node-a") as KubeNode;
  const at = new Date().toISOString();
  const record = { phase: "done", detectedAt: at, startedAt: at, doneAt: at, strategies: { storage: "success", taint: "success" }, connectionsCut: true, taintAdded: true, revoked: [volumeId] };
  rig.api.put("Node", {
    ...node,
    metadata: { ...node.metadata, annotations: { ...node.metadata?.annotations, ...(how.record && { [FENCE_ANNOTATION]: JSON.stringify(record) }) } },
    spec: { ...node.spec, taints: how.taint ? [{ ...OUT_OF_SERVICE_TAINT, timeAdded: at }] : [] },
  });
  await setExportAllowList(rig.controller.rds, volumeId, [hostNqn("node-b")], AbortSignal.timeout(5_000));
  expect(rig.allowedHosts(volumeId)).toEqual([hostNqn("node-b")]);
}

const allowListWrites = (): number => rig.sim.commandLog().filter((entry) => entry.command.includes("nvme-tcp-server-allow-host-name")).length;

describe("ControllerPublishVolume to a fenced node (RDS simulator, fake API server)", () => {
  it.each([
    ["the fence record", { record: true, taint: false }, `it carries the attachment-reconciler's fence record (annotation ${FENCE_ANNOTATION})`],
    ["the out-of-service taint", { record: false, taint: true }, "it has the taint node.kubernetes.io/out-of-service:NoExecute"],
    [
      "both",
      { record: true, taint: true },
      `it carries the attachment-reconciler's fence record (annotation ${FENCE_ANNOTATION}) and it has the taint node.kubernetes.io/out-of-service:NoExecute`,
    ],
  ])("node fenced by %s: its publish is FAILED_PRECONDITION before any RDS write, the other node's keeps it out, unpublish works", async (_how, how, why) => {
    const volume = await volumeOnTwoNodes();
    await fence(volume.volumeId, how);
    const writesBefore = allowListWrites();

    // The refusal names the node and why; the RDS is not written, and the export still shuts node-a out.
    await expect(statusOf(publish(volume, "node-a"))).resolves.toEqual({
      status: "FAILED_PRECONDITION",
      details: `volume ${volume.volumeId} cannot be published to node node-a: the node is fenced (${why}); it may still hold connections from before its failure, so it gets no volume until it is unfenced`,
    });
    expect(allowListWrites()).toBe(writesBefore);
    expect(rig.allowedHosts(volume.volumeId)).toEqual([hostNqn("node-b")]);
    const refusals = (await rig.metrics.metrics()).split("\n").find((line) => line.startsWith('rds_csi_controller_attach_conflicts_total{reason="node_fenced"}'));
    expect(refusals).toMatch(/ 1$/);

    // node-b's publish rewrites the allow-list from the VolumeAttachments; node-a's still says attached,
    // yet its host stays out while the node is fenced.
    expect(await statusOf(publish(volume, "node-b"))).toEqual({ status: "OK", details: "" });
    expect(rig.allowedHosts(volume.volumeId)).toEqual([hostNqn("node-b")]);

    // Unpublishing the fenced node removes access, so it is never refused.
    const unpublish = csi.ControllerUnpublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: "node-a" });
    expect(await statusOf(callUnary(rig.clients.controller, rig.clients.controller.controllerUnpublishVolume, unpublish))).toEqual({ status: "OK", details: "" });
    expect(rig.allowedHosts(volume.volumeId)).toEqual([hostNqn("node-b")]);
  });
});
