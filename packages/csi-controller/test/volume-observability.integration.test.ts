import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { createLogger, csi, GiB } from "@rds-csi/core";
import { KubeEventRecorder } from "@rds-csi/core/k8s";
import type { RdsSimulator } from "@rds-csi/rds-simulator";
import { callUnary, connectCsi, fakeKubeClient, startFakeApiServer, type CsiClients, type FakeApiServer, type KubeObject } from "@rds-csi/testkit";
import { KubeClaimLookup } from "../src/claim-lookup.js";
import { FakePublishArbiter } from "./support/fake-publish-arbiter.js";
import { startSimulatedController, type InProcessController, type SimulatedController } from "./support/in-process-controller.js";
import { PVC_NAME_PARAMETER, PVC_NAMESPACE_PARAMETER, PvcVolumeEvents } from "../src/volume-events.js";
import { eventually } from "./support/eventually.js";

const DRIVER = "rds.csi.srvlab.io";
const capability = csi.VolumeCapability.fromPartial({ mount: {}, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });
const silent = createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

let rig: SimulatedController;
let sim: RdsSimulator;
let api: FakeApiServer;
let events: PvcVolumeEvents;
let controller: InProcessController;
let clients: CsiClients;

beforeAll(async () => {
  api = await startFakeApiServer();
  const client = fakeKubeClient(api.url);
  events = new PvcVolumeEvents({
    recorder: new KubeEventRecorder({ client, component: "rds-csi-controller" }),
    claims: new KubeClaimLookup({ client, driverName: DRIVER }),
    logger: silent,
  });
  rig = await startSimulatedController("rds-csi-controller-observability-", {
    copyTrust: "unverified",
    arbiter: new FakePublishArbiter([]),
    events,
    gaugeIntervalMs: 60_000,
  });
  ({ sim, controller } = rig);
  clients = connectCsi(controller.endpoint);
});

afterAll(async () => {
  clients.close();
  await rig.stop();
  await events.close();
  await api.stop();
});

/** A claim, and a static PV whose name is not its volume handle, bound to it. */
function bind(volumeId: string, claim: string): void {
  api.put("PersistentVolumeClaim", { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: claim, namespace: "apps", uid: `uid-${claim}` }, spec: {} });
  api.put("PersistentVolume", {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: `static-${claim}` },
    spec: { csi: { driver: DRIVER, volumeHandle: volumeId }, claimRef: { kind: "PersistentVolumeClaim", namespace: "apps", name: claim, uid: `uid-${claim}` } },
  });
}

function create(name: string, requiredBytes: bigint, parameters: Record<string, string> = {}): Promise<csi.CreateVolumeResponse> {
  const request = csi.CreateVolumeRequest.fromPartial({ name, capacityRange: { requiredBytes }, volumeCapabilities: [capability], parameters });
  return callUnary(clients.controller, clients.controller.createVolume, request);
}

/** Events with this reason whose subject is the claim `apps/<claim>`. */
function eventsOn(claim: string, reason: string): KubeObject[] {
  return api.list("Event").filter((event) => {
    const subject = event["involvedObject"] as { namespace?: string; name?: string } | undefined;
    return event["reason"] === reason && subject?.namespace === "apps" && subject.name === claim;
  });
}

async function gauge(line: string): Promise<number | undefined> {
  const found = (await controller.metrics.metrics()).split("\n").find((candidate) => candidate.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.split(" ").at(-1));
}

describe("events and gauges over a fake API server and the simulated RDS", () => {
  it("posts VolumeExpanded on the claim of the volume's PV after ControllerExpandVolume", async () => {
    const { volume } = await create(`pvc-${randomUUID()}`, GiB);
    const volumeId = volume?.volumeId ?? "";
    bind(volumeId, "grows");
    await callUnary(clients.controller, clients.controller.controllerExpandVolume, csi.ControllerExpandVolumeRequest.fromPartial({ volumeId, capacityRange: { requiredBytes: 2n * GiB } }));
    await events.settled();
    const [event] = eventsOn("grows", "VolumeExpanded");
    expect(event).toMatchObject({
      type: "Normal",
      involvedObject: { kind: "PersistentVolumeClaim", namespace: "apps", name: "grows", uid: "uid-grows" },
      message: `volume ${volumeId} grew from 1073741824 to 2147483648 bytes on the RDS`,
    });
  });

  it("posts ProvisioningFailed on the claim named by the request when the pool is too small, and nothing for a claim that is gone", async () => {
    api.put("PersistentVolumeClaim", { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "huge", namespace: "apps", uid: "uid-huge" }, spec: {} });
    const claimOf = (name: string) => ({ [PVC_NAMESPACE_PARAMETER]: "apps", [PVC_NAME_PARAMETER]: name });
    await expect(create(`pvc-${randomUUID()}`, 200n * GiB, claimOf("huge"))).rejects.toThrow("RESOURCE_EXHAUSTED");
    await expect(create(`pvc-${randomUUID()}`, 200n * GiB, claimOf("deleted"))).rejects.toThrow("RESOURCE_EXHAUSTED");
    await events.settled();
    expect(eventsOn("huge", "ProvisioningFailed")).toEqual([
      expect.objectContaining({ type: "Warning", involvedObject: expect.objectContaining({ name: "huge", uid: "uid-huge" }) }),
    ]);
    expect(eventsOn("deleted", "ProvisioningFailed")).toEqual([]);
  });

  it("moves the volume and capacity gauges after creates and deletes", async () => {
    await eventually(async () => expect(await gauge('rds_csi_controller_capacity_bytes{kind="total"}')).toBe(Number(100n * GiB)));
    const before = (await gauge("rds_csi_controller_volumes_on_rds")) ?? 0;
    const freeBefore = (await gauge('rds_csi_controller_capacity_bytes{kind="free"}')) ?? 0;
    const created = await Promise.all([create(`pvc-${randomUUID()}`, GiB), create(`pvc-${randomUUID()}`, GiB)]);
    await eventually(async () => expect(await gauge("rds_csi_controller_volumes_on_rds")).toBe(before + 2));
    await eventually(async () => expect(await gauge('rds_csi_controller_capacity_bytes{kind="free"}')).toBeLessThan(freeBefore));

    const request = csi.DeleteVolumeRequest.fromPartial({ volumeId: created[0]?.volume?.volumeId ?? "" });
    await callUnary(clients.controller, clients.controller.deleteVolume, request);
    await eventually(async () => expect(await gauge("rds_csi_controller_volumes_on_rds")).toBe(before + 1));
  });

  it("sends the RDS a look-up, an add and a read-back per CreateVolume, and no listing of every disk for the gauges", async () => {
    const names = Array.from({ length: 20 }, () => `pvc-${randomUUID()}`);
    sim.clearCommandLog();
    const started = performance.now();
    for (const name of names) await create(name, GiB);
    const elapsedMs = performance.now() - started;
    await eventually(async () => expect(await gauge("rds_csi_controller_volumes_on_rds")).toBe(sim.disks().length));
    const log = sim.commandLog().map((entry) => entry.command);
    // A name of the form pvc-<uid> is its volume's id and slot.
    for (const id of names) {
      expect(log.filter((command) => command.includes(id)).map((command) => command.split(" ").slice(0, 2).join(" "))).toEqual(["/disk print", "/disk add", "/disk print"]);
    }
    expect(log.filter((command) => command.includes('where type="file"'))).toEqual([]);
    // The pool is read by the free-space check (a reading stands for 1 s) and by the gauges (at most every 2 s), not per create.
    const poolReads = log.filter((command) => command.includes("where mount-point=")).length;
    expect(poolReads).toBeLessThanOrEqual(3 + Math.ceil(elapsedMs / 1_000) + Math.ceil(elapsedMs / 2_000));
    expect(log).toHaveLength(3 * names.length + poolReads);
  });

  it("reads the pool once, not once per create, for creates that arrive together", async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the free-space reading is stale
    sim.clearCommandLog();
    const started = performance.now();
    await Promise.all(Array.from({ length: 20 }, () => create(`pvc-${randomUUID()}`, GiB)));
    const elapsedMs = performance.now() - started;
    const poolReads = sim.commandLog().filter((entry) => entry.command.includes("where mount-point=")).length;
    // One for the free-space check, shared; the gauges' as above.
    expect(poolReads).toBeLessThanOrEqual(2 + Math.ceil(elapsedMs / 1_000) + Math.ceil(elapsedMs / 2_000));
  });
});
