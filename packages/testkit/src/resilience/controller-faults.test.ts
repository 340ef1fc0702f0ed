import { randomUUID } from "node:crypto";
import { status, type ServiceError } from "@grpc/grpc-js";
import { csi, GiB } from "@rds-csi/core";
import { callUnary } from "../csi-client.js";
import { callAsKubeletWould } from "../system/csi-retry.js";
import { faultScenario } from "../system/fault-ledger.js";
import { RIG_BASE_PATH } from "../system/rds-env.js";
import { SystemRig } from "../system/system-rig.js";

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

const DRIVER = "rds.csi.srvlab.io";

/** The PV, CSINodes and VolumeAttachments Kubernetes would hold for `volumeId` attached to `nodes`, oldest first. */
async function attachmentsFor(volumeId: string, nodes: readonly string[]): Promise<void> {
  rig.api.put("PersistentVolume", {
    metadata: { name: `pv-${volumeId}` },
    spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], csi: { driver: DRIVER, volumeHandle: volumeId }, persistentVolumeReclaimPolicy: "Delete" },
  });
  for (const node of nodes) {
    rig.api.put("CSINode", { metadata: { name: node }, spec: { drivers: [{ name: DRIVER, nodeID: node }] } });
    rig.api.put("VolumeAttachment", attachment(volumeId, node, false));
    // Distinct creation times: the arbiter lets the older pending attachment win.
    await new Promise((resolve) => setTimeout(resolve, 1100));
  }
}

function attachment(volumeId: string, node: string, attached: boolean): object {
  return {
    metadata: { name: `va-${volumeId}-${node}` },
    spec: { attacher: DRIVER, nodeName: node, source: { persistentVolumeName: `pv-${volumeId}` } },
    status: { attached },
  };
}

function publishTo(volumeId: string, node: string): Promise<csi.ControllerPublishVolumeResponse> {
  const request = csi.ControllerPublishVolumeRequest.fromPartial({ volumeId, nodeId: node, volumeCapability: rwo });
  return callAsKubeletWould(() => callUnary(controller(), controller().controllerPublishVolume, request, { deadlineMs: 20_000 }));
}

/** Publishes to `node` until the answer is FAILED_PRECONDITION (the controller has seen the other holder), or times out. */
async function refusedWithin(volumeId: string, node: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const code = await publishTo(volumeId, node).then(
      () => status.OK,
      (err: ServiceError) => err.code,
    );
    if (code === status.FAILED_PRECONDITION) return true;
    if (code === status.OK) {
      await callUnary(controller(), controller().controllerUnpublishVolume, { volumeId, nodeId: node, secrets: {} }, { deadlineMs: 20_000 });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

test("two nodes race to publish one RWO volume: exactly one is granted, the other refused until the first lets go", async () => {
  await faultScenario("rwo-publish-race", async (inject) => {
    const { volume } = await create(`pvc-${randomUUID()}`);
    const volumeId = volume!.volumeId;
    await attachmentsFor(volumeId, ["node-a", "node-b"]);
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.allSettled([publishTo(volumeId, "node-a"), publishTo(volumeId, "node-b")]);
      inject();
      expect(answers[0].status).toBe("fulfilled");
      expect(answers[1]).toMatchObject({ status: "rejected", reason: { code: status.FAILED_PRECONDITION } });
    }
    // Node A lets go (its VolumeAttachment is gone after ControllerUnpublish): node B is granted.
    await callAsKubeletWould(() => callUnary(controller(), controller().controllerUnpublishVolume, { volumeId, nodeId: "node-a", secrets: {} }, { deadlineMs: 20_000 }));
    rig.api.remove("VolumeAttachment", undefined, `va-${volumeId}-node-a`);
    await expect(eventually(() => publishTo(volumeId, "node-b"))).resolves.toBeDefined();
  });
}, 120_000);

test("API server restart and watch expiry: the controller misses no VolumeAttachment and still refuses a second RWO writer", async () => {
  await faultScenario("apiserver-restart-watch-expiry", async (inject) => {
    const { volume } = await create(`pvc-${randomUUID()}`);
    const volumeId = volume!.volumeId;
    await attachmentsFor(volumeId, ["node-b"]);
    rig.api.remove("VolumeAttachment", undefined, `va-${volumeId}-node-b`);
    // The API server goes away: every open watch ends, requests fail for a while, and its watch
    // history is gone when it is back (a resumed watch gets 410 Expired). Meanwhile node A attaches.
    rig.api.failNext({ status: 503, count: 10, message: "the API server is restarting" });
    rig.api.closeWatches();
    rig.api.put("CSINode", { metadata: { name: "node-a" }, spec: { drivers: [{ name: DRIVER, nodeID: "node-a" }] } });
    rig.api.put("VolumeAttachment", attachment(volumeId, "node-a", true));
    rig.api.compactHistory();
    inject();
    rig.api.put("VolumeAttachment", attachment(volumeId, "node-b", false));
    expect(await refusedWithin(volumeId, "node-b", 20_000)).toBe(true);
  });
}, 120_000);

/** Retries `call` for up to 15 s while the controller's caches catch up. */
async function eventually<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

test("RouterOS output that breaks one record in an unexpected place: listings skip it, every other volume is served", async () => {
  await faultScenario("routeros-record-broken", async (inject) => {
    const volumes = await Promise.all([1, 2, 3].map(() => create(`pvc-${randomUUID()}`)));
    const ids = volumes.map((answer) => answer.volume!.volumeId).sort();
    const list = () => callAsKubeletWould(() => callUnary(controller(), controller().listVolumes, csi.ListVolumesRequest.fromPartial({}), { deadlineMs: 20_000 }));
    rig.sim.clearCommandLog();
    expect((await list()).entries.map((entry) => entry.volume!.volumeId).sort()).toEqual(ids);
    // The listing the controller just read, as the RDS printed it; one record is now cut inside a value
    // and runs into the next key, as a console glitch or an unforeseen format would leave it.
    const listing = rig.sim.commandLog().find((entry) => entry.command.includes("/disk print") && entry.output.includes(ids[1]!));
    expect(listing).toBeDefined();
    const broken = listing!.output
      .split("\r\n")
      .map((line) => (line.includes(`slot=${ids[1]}`) ? line.replace(`slot=${ids[1]}`, `slot="${ids[1]!.slice(0, 12)}`) : line))
      .join("\r\n");
    rig.sim.faults.errorReply({ text: broken.replace(/\r\n$/, ""), count: 1, match: { contains: listing!.command.slice(0, 40) } });
    inject();
    const answered = (await list()).entries.map((entry) => entry.volume!.volumeId).sort();
    expect(answered).toEqual([ids[0], ids[2]].sort());
    // The next listing, with the record whole again, has all three: nothing was lost or changed.
    expect((await list()).entries.map((entry) => entry.volume!.volumeId).sort()).toEqual(ids);
    expect(driverState().slots).toEqual(ids);
  });
}, 120_000);
