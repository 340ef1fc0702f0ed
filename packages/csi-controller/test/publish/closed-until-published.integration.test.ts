import { csi, GiB } from "@rds-csi/core";
import { NO_HOST_NQN } from "@rds-csi/core/routeros";
import { callUnary } from "@rds-csi/testkit";
import { statusOf } from "../sanity/grpc-status.js";
import { DRIVER, hostNqn, startPublishRig, type PublishRig } from "../support/publish-rig.js";

// With host access control verified each export admits only the hosts it is published to. RouterOS
// reads an empty `nvme-tcp-server-allow-host-name` as any host, so a new export (empty, restored or
// cloned) must name the NO_HOST_NQN placeholder in its own `/disk add`; otherwise any host that reaches
// the RDS could connect between CreateVolume and the first ControllerPublishVolume.

const rwoMount = csi.VolumeCapability.fromPartial({ mount: { fsType: "ext4" }, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });
const STRANGER = "nqn.2014-08.org.nvmexpress:uuid:not-a-node-of-this-cluster";

let rig: PublishRig;

async function start(hostAccessControl: boolean): Promise<void> {
  // enforce-new: the simulator refuses a connection from a host the export's allow-list does not name.
  rig = await startPublishRig({ tempPrefix: "rds-csi-controller-closed-", hostAccessControl, copyTrust: "verified", nodes: ["node-a"], allowHost: "enforce-new" });
}

afterEach(() => rig.stop());

async function createVolume(name: string, contentSource?: csi.VolumeContentSource): Promise<csi.Volume> {
  const request = csi.CreateVolumeRequest.fromPartial({
    name,
    capacityRange: { requiredBytes: GiB },
    volumeCapabilities: [rwoMount],
    ...(contentSource ? { volumeContentSource: contentSource } : {}),
  });
  return (await callUnary(rig.clients.controller, rig.clients.controller.createVolume, request)).volume!;
}

/** The NQN the RDS exports the volume under. */
function exportNqn(volumeId: string): string {
  const disk = rig.sim.disks().find((candidate) => candidate.slot === volumeId);
  if (!disk) throw new Error(`no disk ${volumeId} on the RDS`);
  return disk.nvmeTcpServerNqn;
}

/** Whether the simulator lets `host` open an NVMe/TCP connection to the volume's export (and closes it again). */
function admits(volumeId: string, host: string): boolean {
  const nqn = exportNqn(volumeId);
  try {
    rig.sim.connectHost(nqn, host);
  } catch {
    return false;
  }
  rig.sim.disconnectHost(nqn, host);
  return true;
}

async function publishToNodeA(volume: csi.Volume, pv: string): Promise<void> {
  rig.api.put("PersistentVolume", {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: pv },
    spec: { accessModes: ["ReadWriteOnce"], csi: { driver: DRIVER, volumeHandle: volume.volumeId } },
  });
  rig.putAttachment(volume.volumeId, "node-a", pv, false);
  const request = csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: "node-a", volumeCapability: rwoMount, volumeContext: volume.volumeContext });
  expect(await statusOf(callUnary(rig.clients.controller, rig.clients.controller.controllerPublishVolume, request))).toEqual({ status: "OK", details: "" });
}

/** Closed from its `/disk add` on, then opened to node-a's host alone by the first publish. */
async function expectClosedUntilPublished(volume: csi.Volume, pv: string): Promise<void> {
  expect(rig.allowedHosts(volume.volumeId)).toEqual([NO_HOST_NQN]);
  const add = rig.sim.commandLog().find((entry) => entry.command.startsWith("/disk add") && entry.command.includes(`slot="${volume.volumeId}"`));
  expect(add?.command).toContain(`nvme-tcp-server-allow-host-name="${NO_HOST_NQN}"`);
  expect(admits(volume.volumeId, STRANGER)).toBe(false);
  expect(admits(volume.volumeId, hostNqn("node-a"))).toBe(false);

  await publishToNodeA(volume, pv);
  expect(rig.allowedHosts(volume.volumeId)).toEqual([hostNqn("node-a")]);
  expect(admits(volume.volumeId, hostNqn("node-a"))).toBe(true);
  expect(admits(volume.volumeId, STRANGER)).toBe(false);
}

describe("a new export with host access control verified (RDS simulator enforcing allow-lists)", () => {
  it("admits no host from CreateVolume on, then only node-a's after ControllerPublishVolume: empty, restored and cloned volumes", async () => {
    await start(true);
    const empty = await createVolume("pvc-empty");
    await expectClosedUntilPublished(empty, "pvc-empty");

    const snapshotRequest = csi.CreateSnapshotRequest.fromPartial({ name: "snap-of-empty", sourceVolumeId: empty.volumeId });
    const snapshot = (await callUnary(rig.clients.controller, rig.clients.controller.createSnapshot, snapshotRequest)).snapshot!;
    const restored = await createVolume("pvc-restored", csi.VolumeContentSource.fromPartial({ snapshot: { snapshotId: snapshot.snapshotId } }));
    await expectClosedUntilPublished(restored, "pvc-restored");

    const cloned = await createVolume("pvc-cloned", csi.VolumeContentSource.fromPartial({ volume: { volumeId: empty.volumeId } }));
    await expectClosedUntilPublished(cloned, "pvc-cloned");
  });

  it("is left to RouterOS's default (any host) while host access control is unverified", async () => {
    await start(false);
    const volume = await createVolume("pvc-open");
    expect(rig.allowedHosts(volume.volumeId)).toEqual([]);
    expect(admits(volume.volumeId, STRANGER)).toBe(true);
  });
});
