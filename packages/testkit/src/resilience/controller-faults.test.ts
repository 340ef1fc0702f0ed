import { randomUUID } from "node:crypto";
import { status, type ServiceError } from "@grpc/grpc-js";
import { csi, GiB } from "@rds-csi/core";
import { callUnary } from "../csi-client.js";
import { callAsKubeletWould } from "../system/csi-retry.js";
import { faultScenario } from "../system/fault-ledger.js";
import { RIG_BASE_PATH, SystemRig } from "../system/system-rig.js";

/**
 * Faults across the running control plane (RDS simulator, fake API server, the controller as a real
 * process), each followed by checks that nothing was lost or duplicated and that the system converged.
 * Callers retry ABORTED/UNAVAILABLE as the sidecars do. Node-side faults are in node-faults.test.ts.
 */
const rwo = csi.VolumeCapability.fromPartial({ mount: { fsType: "ext4" }, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });

let rig: SystemRig;

beforeEach(async () => {
  rig = await SystemRig.start();
  await rig.startController();
});

afterEach(async () => {
  await rig.stop();
});

function controller(): csi.ControllerClient {
  return rig.controller!.clients.controller;
}

function create(name: string, timeoutMs = 60_000): Promise<csi.CreateVolumeResponse> {
  const request = csi.CreateVolumeRequest.fromPartial({ name, capacityRange: { requiredBytes: GiB }, volumeCapabilities: [rwo] });
  return callAsKubeletWould(() => callUnary(controller(), controller().createVolume, request, { deadlineMs: 20_000 }), { timeoutMs });
}

/** Disks and backing files of this driver on the RDS. */
function driverState(): { slots: string[]; files: string[] } {
  return {
    slots: rig.sim.disks().filter((disk) => disk.filePath.startsWith(`${RIG_BASE_PATH}/`)).map((disk) => disk.slot).sort(),
    files: rig.sim.files().filter((file) => file.type === "file" && file.name.startsWith(`${RIG_BASE_PATH.slice(1)}/`)).map((file) => file.name).sort(),
  };
}

test("RDS restart during a burst of creates: every volume exists exactly once, retries answer the same volume", async () => {
  await faultScenario("rds-restart-during-create-burst", async (inject) => {
    await rig.sim.updateSettings({ latency: { mutateMs: 30 } });
    const names = Array.from({ length: 16 }, () => `pvc-${randomUUID()}`);
    const burst = names.map((name) => create(name));
    await new Promise((resolve) => setTimeout(resolve, 150));
    await rig.sim.restart({ refuseConnectionsMs: 500 });
    inject();
    const created = await Promise.all(burst);
    const ids = created.map((answer) => answer.volume!.volumeId);
    expect(new Set(ids).size).toBe(names.length);
    // Repeating each create (a provisioner that lost the reply) answers the same volume and makes nothing new.
    const again = await Promise.all(names.map((name) => create(name)));
    expect(again.map((answer) => answer.volume!.volumeId)).toEqual(ids);
    const { slots, files } = driverState();
    expect(slots).toEqual([...ids].sort());
    expect(files).toHaveLength(names.length);
  });
}, 120_000);

test("SSH cut after the RDS executed a command: create and delete converge with no duplicate and no leak", async () => {
  await faultScenario("ssh-cut-after-command", async (inject) => {
    rig.sim.faults.dropConnection({ when: "after", count: 1, match: { contains: "/disk add" } });
    inject();
    const name = `pvc-${randomUUID()}`;
    const { volume } = await create(name);
    expect(driverState().slots).toEqual([volume!.volumeId]);

    rig.sim.faults.dropConnection({ when: "after", count: 1, match: { contains: "remove" } });
    inject();
    await callAsKubeletWould(() => callUnary(controller(), controller().deleteVolume, { volumeId: volume!.volumeId, secrets: {} }, { deadlineMs: 20_000 }));
    expect(driverState()).toEqual({ slots: [], files: [] });
  });
}, 120_000);

test("controller killed mid-publish and started again: the retried publish is granted once, unpublish converges", async () => {
  await faultScenario("controller-killed-mid-publish", async (inject) => {
    const { volume } = await create(`pvc-${randomUUID()}`);
    const volumeId = volume!.volumeId;
    rig.api.put("CSINode", { metadata: { name: "node-a" }, spec: { drivers: [{ name: "rds.csi.srvlab.io", nodeID: "node-a" }] } });
    const request = csi.ControllerPublishVolumeRequest.fromPartial({ volumeId, nodeId: "node-a", volumeCapability: rwo, volumeContext: volume!.volumeContext });
    // Every RDS read now takes 2 s, so the publish is still waiting on the RDS when the controller dies.
    rig.sim.faults.setDelay({ read: 2000 });
    const inFlight = callUnary(controller(), controller().controllerPublishVolume, request, { deadlineMs: 20_000 }).catch((err: ServiceError) => err);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await rig.controller!.stop("SIGKILL");
    inject();
    expect((await inFlight) as ServiceError).toMatchObject({ code: status.UNAVAILABLE });
    rig.sim.faults.setDelay({ read: 0 });
    await rig.startController();
    const granted = await callAsKubeletWould(() => callUnary(controller(), controller().controllerPublishVolume, request, { deadlineMs: 20_000 }));
    expect(granted.publishContext).toMatchObject({ nvme_nqn: expect.stringContaining(volumeId) });
    await callAsKubeletWould(() => callUnary(controller(), controller().controllerUnpublishVolume, { volumeId, nodeId: "node-a", secrets: {} }, { deadlineMs: 20_000 }));
    expect(driverState().slots).toEqual([volumeId]);
  });
}, 120_000);
