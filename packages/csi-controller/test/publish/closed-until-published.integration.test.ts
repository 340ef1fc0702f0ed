import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createLogger, csi, GiB, MetricsRegistry } from "@rds-csi/core";
import { HOST_NQN_ANNOTATION } from "@rds-csi/core/k8s";
import { NO_HOST_NQN } from "@rds-csi/core/routeros";
import { generateEd25519KeyPair, operatorLogin, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { callUnary, connectCsi, fakeKubeClient, startFakeApiServer, type CsiClients, type FakeApiServer } from "@rds-csi/testkit";
import type { ManagedPublishArbiter } from "../../src/publish-arbiter.js";
import { volumeAttachmentName } from "../../src/publish/attachment-record.js";
import { createPublishArbiter } from "../../src/publish/index.js";
import { statusOf } from "../sanity/grpc-status.js";
import { startInProcessController, type InProcessController } from "../support/in-process-controller.js";

// With host access control verified each export admits only the hosts it is published to. RouterOS
// reads an empty `nvme-tcp-server-allow-host-name` as any host, so a new export (empty, restored or
// cloned) must name the NO_HOST_NQN placeholder in its own `/disk add`; otherwise any host that reaches
// the RDS could connect between CreateVolume and the first ControllerPublishVolume.

const DRIVER = "rds.csi.srvlab.io";
const key = generateEd25519KeyPair();
const rwoMount = csi.VolumeCapability.fromPartial({ mount: { fsType: "ext4" }, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });
const silent = createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, cb) => cb() }) });
const hostNqn = (node: string): string => `nqn.2014-08.org.nvmexpress:uuid:${node}`;
const STRANGER = "nqn.2014-08.org.nvmexpress:uuid:not-a-node-of-this-cluster";

let dir: string;
let sim: RdsSimulator;
let api: FakeApiServer;
let arbiter: ManagedPublishArbiter;
let controller: InProcessController;
let clients: CsiClients;

async function start(hostAccessControl: boolean): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), "rds-csi-controller-closed-"));
  // enforce-new: the simulator refuses a connection from a host the export's allow-list does not name.
  sim = await startSimulator({ stateDir: join(dir, "rds"), authorizedKeys: key.public, poolSize: "100G", allowHost: "enforce-new" });
  api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
  controller = await startInProcessController({
    rds: operatorLogin(sim, key.private),
    socketDir: dir,
    copyTrust: "verified",
    hostAccessControl,
    arbiter: (rds) =>
      (arbiter = createPublishArbiter({
        rds,
        driverName: DRIVER,
        logger: silent,
        metrics: new MetricsRegistry(),
        client: fakeKubeClient(api.url),
        hostAccessControl,
        nvmeAddress: () => "127.0.0.1",
        informerTuning: { backoffInitialMs: 20, backoffMaxMs: 100, jitter: 0 },
      })),
  });
  clients = connectCsi(controller.endpoint);
  api.put("Node", { apiVersion: "v1", kind: "Node", metadata: { name: "node-a", annotations: { [HOST_NQN_ANNOTATION]: hostNqn("node-a") } } });
  api.put("CSINode", { apiVersion: "storage.k8s.io/v1", kind: "CSINode", metadata: { name: "node-a" }, spec: { drivers: [{ name: DRIVER, nodeID: "node-a" }] } });
}

afterEach(async () => {
  clients.close();
  await controller.stop();
  await arbiter.close();
  await api.stop();
  await sim.stop();
  await rm(dir, { recursive: true, force: true });
});

async function createVolume(name: string, contentSource?: csi.VolumeContentSource): Promise<csi.Volume> {
  const request = csi.CreateVolumeRequest.fromPartial({
    name,
    capacityRange: { requiredBytes: GiB },
    volumeCapabilities: [rwoMount],
    ...(contentSource ? { volumeContentSource: contentSource } : {}),
  });
  return (await callUnary(clients.controller, clients.controller.createVolume, request)).volume!;
}

/** The export as the RDS holds it: its NQN and allow-list. */
function exportOf(volumeId: string): { nqn: string; allowedHosts: readonly string[] } {
  const disk = sim.disks().find((candidate) => candidate.slot === volumeId);
  if (!disk) throw new Error(`no disk ${volumeId} on the RDS`);
  return { nqn: disk.nvmeTcpServerNqn, allowedHosts: [...disk.allowedHosts].sort() };
}

/** Whether the simulator lets `host` open an NVMe/TCP connection to the volume's export (and closes it again). */
function admits(volumeId: string, host: string): boolean {
  const { nqn } = exportOf(volumeId);
  try {
    sim.connectHost(nqn, host);
  } catch {
    return false;
  }
  sim.disconnectHost(nqn, host);
  return true;
}

async function publishToNodeA(volume: csi.Volume, pv: string): Promise<void> {
  api.put("PersistentVolume", {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: pv },
    spec: { accessModes: ["ReadWriteOnce"], csi: { driver: DRIVER, volumeHandle: volume.volumeId } },
  });
  api.put("VolumeAttachment", {
    apiVersion: "storage.k8s.io/v1",
    kind: "VolumeAttachment",
    metadata: { name: volumeAttachmentName(volume.volumeId, DRIVER, "node-a") },
    spec: { attacher: DRIVER, nodeName: "node-a", source: { persistentVolumeName: pv } },
    status: { attached: false },
  });
  const request = csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: "node-a", volumeCapability: rwoMount, volumeContext: volume.volumeContext });
  expect(await statusOf(callUnary(clients.controller, clients.controller.controllerPublishVolume, request))).toEqual({ status: "OK", details: "" });
}

/** Closed from its `/disk add` on, then opened to node-a's host alone by the first publish. */
async function expectClosedUntilPublished(volume: csi.Volume, pv: string): Promise<void> {
  expect(exportOf(volume.volumeId).allowedHosts).toEqual([NO_HOST_NQN]);
  const add = sim.commandLog().find((entry) => entry.command.startsWith("/disk add") && entry.command.includes(`slot="${volume.volumeId}"`));
  expect(add?.command).toContain(`nvme-tcp-server-allow-host-name="${NO_HOST_NQN}"`);
  expect(admits(volume.volumeId, STRANGER)).toBe(false);
  expect(admits(volume.volumeId, hostNqn("node-a"))).toBe(false);

  await publishToNodeA(volume, pv);
  expect(exportOf(volume.volumeId).allowedHosts).toEqual([hostNqn("node-a")]);
  expect(admits(volume.volumeId, hostNqn("node-a"))).toBe(true);
  expect(admits(volume.volumeId, STRANGER)).toBe(false);
}

describe("a new export with host access control verified (RDS simulator enforcing allow-lists)", () => {
  it("admits no host from CreateVolume on, then only node-a's after ControllerPublishVolume: empty, restored and cloned volumes", async () => {
    await start(true);
    const empty = await createVolume("pvc-empty");
    await expectClosedUntilPublished(empty, "pvc-empty");

    const snapshotRequest = csi.CreateSnapshotRequest.fromPartial({ name: "snap-of-empty", sourceVolumeId: empty.volumeId });
    const snapshot = (await callUnary(clients.controller, clients.controller.createSnapshot, snapshotRequest)).snapshot!;
    const restored = await createVolume("pvc-restored", csi.VolumeContentSource.fromPartial({ snapshot: { snapshotId: snapshot.snapshotId } }));
    await expectClosedUntilPublished(restored, "pvc-restored");

    const cloned = await createVolume("pvc-cloned", csi.VolumeContentSource.fromPartial({ volume: { volumeId: empty.volumeId } }));
    await expectClosedUntilPublished(cloned, "pvc-cloned");
  });

  it("is left to RouterOS's default (any host) while host access control is unverified", async () => {
    await start(false);
    const volume = await createVolume("pvc-open");
    expect(exportOf(volume.volumeId).allowedHosts).toEqual([]);
    expect(admits(volume.volumeId, STRANGER)).toBe(true);
  });
});
