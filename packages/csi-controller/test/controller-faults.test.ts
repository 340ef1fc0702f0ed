import { csi, GiB } from "@rds-csi/core";
import type { RdsSimulator } from "@rds-csi/rds-simulator";
import { callUnary, connectCsi, type CallSettings, type CsiClients } from "@rds-csi/testkit";
import { statusOf, type GrpcStatusName } from "./sanity/grpc-status.js";
import { FakePublishArbiter } from "./support/fake-publish-arbiter.js";
import { startSimulatedController, type InProcessController, type SimulatedController } from "./support/in-process-controller.js";

const capability = csi.VolumeCapability.fromPartial({ mount: {}, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });

let rig: SimulatedController;
let sim: RdsSimulator;
let controller: InProcessController;
let clients: CsiClients;

beforeEach(async () => {
  rig = await startSimulatedController("rds-csi-controller-faults-", { copyTrust: "unverified", arbiter: new FakePublishArbiter(["node-a"]) });
  ({ sim, controller } = rig);
  clients = connectCsi(controller.endpoint);
});

afterEach(async () => {
  clients.close();
  await rig.stop();
});

const createRequest = (name: string): csi.CreateVolumeRequest =>
  csi.CreateVolumeRequest.fromPartial({ name, capacityRange: { requiredBytes: GiB }, volumeCapabilities: [capability] });

function createVolume(name: string, settings?: CallSettings): Promise<csi.CreateVolumeResponse> {
  return callUnary(clients.controller, clients.controller.createVolume, createRequest(name), settings);
}

const outcomes = (verb: string): string[] => sim.commandLog().filter((entry) => entry.command.startsWith(verb)).map((entry) => entry.outcome);
const imageFiles = (): string[] => sim.files().filter((file) => file.name.endsWith(".img")).map((file) => file.name);

/** What a caller may see when the RDS fails it: a retryable code, never INTERNAL, never NOT_FOUND. */
const TRANSIENT: GrpcStatusName[] = ["OK", "UNAVAILABLE", "DEADLINE_EXCEEDED"];

describe("controller faults against the simulated RDS", () => {
  it("converges to exactly one volume when the reply to /disk add is lost", async () => {
    sim.faults.dropConnection({ when: "after", count: 1, match: { contains: "/disk add" } });
    const { volume } = await createVolume("lost-reply");
    expect(volume?.capacityBytes).toBe(GiB);
    expect(sim.disks().map((disk) => disk.slot)).toEqual([volume?.volumeId]);
    // The add ran once: the lost reply was settled by reading the RDS back, not by adding again.
    expect(outcomes("/disk add")).toEqual(["dropped-after"]);
    expect(await createVolume("lost-reply")).toEqual({ volume });
  });

  it("converges when the RDS restarts in the middle of a create", async () => {
    sim.faults.setDelay({ mutate: 400 });
    const first = statusOf(createVolume("restart"));
    await waitFor(() => sim.commandLog().some((entry) => entry.command.startsWith("/disk print")));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await sim.restart();
    expect(TRANSIENT).toContain((await first).status);
    sim.faults.reset();
    const { volume } = await createVolume("restart");
    expect(sim.disks().map((disk) => disk.slot)).toEqual([volume?.volumeId]);
    expect(imageFiles()).toHaveLength(1);
  });

  it("reports a full RDS as RESOURCE_EXHAUSTED and leaves nothing behind", async () => {
    sim.faults.setDiskFull(true);
    await expect(statusOf(createVolume("full"))).resolves.toMatchObject({
      status: "RESOURCE_EXHAUSTED",
      details: expect.stringMatching(/1073741824 bytes requested, 0 bytes free$/),
    });
    sim.faults.setDiskFull(false);
    // Space taken between the check and the add (another writer on the pool): the RDS refuses the add itself.
    sim.faults.errorReply({ text: "failure: not enough space", count: 1, match: { contains: "/disk add" } });
    await expect(statusOf(createVolume("full"))).resolves.toMatchObject({ status: "RESOURCE_EXHAUSTED" });
    expect(sim.disks()).toEqual([]);
    expect(imageFiles()).toEqual([]);
    expect((await createVolume("full")).volume?.capacityBytes).toBe(GiB);
  });

  it("counts the space an expand just took before letting the next create go to the RDS", async () => {
    const { volume } = await createVolume("grown");
    const expand = csi.ControllerExpandVolumeRequest.fromPartial({ volumeId: volume!.volumeId, capacityRange: { requiredBytes: 90n * GiB } });
    await callUnary(clients.controller, clients.controller.controllerExpandVolume, expand);
    const big = csi.CreateVolumeRequest.fromPartial({ name: "too-big", capacityRange: { requiredBytes: 20n * GiB }, volumeCapabilities: [capability] });
    await expect(statusOf(callUnary(clients.controller, clients.controller.createVolume, big))).resolves.toMatchObject({
      status: "RESOURCE_EXHAUSTED",
      details: expect.stringMatching(/21474836480 bytes requested, \d+ bytes free$/),
    });
    // Refused by the controller's own check, not left to the RDS (which may not refuse a thin file).
    expect(outcomes("/disk add")).toEqual(["ok"]);
  });

  it("gives up on an RDS slower than the caller's deadline with a retryable code, and frees the volume", async () => {
    sim.faults.setDelay({ read: 3_000 });
    const slow = await statusOf(createVolume("slow", { deadlineMs: 300 }));
    expect(["DEADLINE_EXCEEDED", "UNAVAILABLE"]).toContain(slow.status);
    const listing = await statusOf(callUnary(clients.controller, clients.controller.listVolumes, { maxEntries: 0, startingToken: "" }, { deadlineMs: 300 }));
    expect(["DEADLINE_EXCEEDED", "UNAVAILABLE"]).toContain(listing.status);
    sim.faults.reset();
    // The first call's lock went with its deadline: the retry is served, not ABORTED.
    expect((await createVolume("slow")).volume?.capacityBytes).toBe(GiB);
  });

  it("answers UNAVAILABLE and Probe not-ready while the RDS is down, and serves again once it is back", async () => {
    await createVolume("before-outage");
    await sim.restart({ refuseConnectionsMs: 1_500 });
    await expect(statusOf(createVolume("during-outage"))).resolves.toMatchObject({ status: "UNAVAILABLE" });
    const listing = callUnary(clients.controller, clients.controller.listVolumes, { maxEntries: 0, startingToken: "" });
    await expect(statusOf(listing)).resolves.toMatchObject({ status: "UNAVAILABLE" });
    expect(await callUnary(clients.identity, clients.identity.probe, {})).toEqual({ ready: false });
    await waitFor(() => controller.transport.state === "connected");
    expect(await callUnary(clients.identity, clients.identity.probe, {})).toEqual({ ready: true });
    expect((await createVolume("during-outage")).volume?.capacityBytes).toBe(GiB);
  });

  it("converges when the replies to a resize and to a delete are lost", async () => {
    const { volume } = await createVolume("lost-mutations");
    const volumeId = volume!.volumeId;
    sim.faults.dropConnection({ when: "after", count: 1, match: { contains: "/disk set" } });
    const expand = csi.ControllerExpandVolumeRequest.fromPartial({ volumeId, capacityRange: { requiredBytes: 2n * GiB } });
    expect((await callUnary(clients.controller, clients.controller.controllerExpandVolume, expand)).capacityBytes).toBe(2n * GiB);
    expect(outcomes("/disk set")).toEqual(["dropped-after"]);
    sim.faults.dropConnection({ when: "after", count: 1, match: { contains: "/disk remove" } });
    await callUnary(clients.controller, clients.controller.deleteVolume, csi.DeleteVolumeRequest.fromPartial({ volumeId }));
    expect(outcomes("/disk remove")).toEqual(["dropped-after"]);
    expect(sim.disks()).toEqual([]);
    expect(imageFiles()).toEqual([]);
  });

  it("answers FAILED_PRECONDITION, naming the live sessions, while the RDS refuses a busy disk", async () => {
    await sim.updateSettings({ diskBusy: "while-connected" });
    const { volume } = await createVolume("busy");
    const volumeId = volume!.volumeId;
    const nqn = sim.disks()[0]!.nvmeTcpServerNqn;
    sim.connectHost(nqn, "nqn.2014-08.org.nvmexpress:uuid:stale-node");
    const expand = csi.ControllerExpandVolumeRequest.fromPartial({ volumeId, capacityRange: { requiredBytes: 2n * GiB } });
    const deletion = csi.DeleteVolumeRequest.fromPartial({ volumeId });
    const refused = { status: "FAILED_PRECONDITION", details: expect.stringMatching(/while NVMe\/TCP sessions to it are live/) };
    await expect(statusOf(callUnary(clients.controller, clients.controller.controllerExpandVolume, expand))).resolves.toMatchObject(refused);
    await expect(statusOf(callUnary(clients.controller, clients.controller.deleteVolume, deletion))).resolves.toMatchObject(refused);
    sim.disconnectHost(nqn, "nqn.2014-08.org.nvmexpress:uuid:stale-node");
    await callUnary(clients.controller, clients.controller.deleteVolume, deletion);
    expect(imageFiles()).toEqual([]);
  });

  it("finishes a delete that stopped between removing the disk and removing its file", async () => {
    const { volume } = await createVolume("half-deleted");
    const request = csi.DeleteVolumeRequest.fromPartial({ volumeId: volume!.volumeId });
    // The disk goes, then every /file command fails: the first delete stops with the file left behind.
    sim.faults.errorReply({ text: "failure: simulator I/O error", count: 100, match: { contains: "/file" } });
    expect((await statusOf(callUnary(clients.controller, clients.controller.deleteVolume, request))).status).not.toBe("OK");
    expect(sim.disks()).toEqual([]);
    expect(imageFiles()).toHaveLength(1);
    sim.faults.reset();
    // The retry finds no disk and still removes the file, whose path follows from the volume id.
    await callUnary(clients.controller, clients.controller.deleteVolume, request);
    expect(imageFiles()).toEqual([]);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
