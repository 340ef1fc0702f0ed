import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createLogger, csi, GiB, MetricsRegistry } from "@rds-csi/core";
import { FENCE_ANNOTATION, HOST_NQN_ANNOTATION, OUT_OF_SERVICE_TAINT, type KubeNode } from "@rds-csi/core/k8s";
import { setExportAllowList } from "@rds-csi/core/routeros";
import { generateEd25519KeyPair, operatorLogin, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { callUnary, connectCsi, fakeKubeClient, startFakeApiServer, type CsiClients, type FakeApiServer } from "@rds-csi/testkit";
import type { ManagedPublishArbiter } from "../../src/publish-arbiter.js";
import { volumeAttachmentName } from "../../src/publish/attachment-record.js";
import { createPublishArbiter } from "../../src/publish/index.js";
import { statusOf } from "../sanity/grpc-status.js";
import { startInProcessController, type InProcessController } from "../support/in-process-controller.js";

// A fenced node must get no volume back from the controller: the attachment-reconciler took its host
// off the exports it held, and for an RWX volume (a live migration) any later allow-list write would
// put it back beside the node the workload moved to while its old connections may still write.

const DRIVER = "rds.csi.srvlab.io";
const key = generateEd25519KeyPair();
const rwxBlock = csi.VolumeCapability.fromPartial({ block: {}, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.MULTI_NODE_MULTI_WRITER } });
const silent = createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, cb) => cb() }) });
const hostNqn = (node: string): string => `nqn.2014-08.org.nvmexpress:uuid:${node}`;

let dir: string;
let sim: RdsSimulator;
let api: FakeApiServer;
let arbiter: ManagedPublishArbiter;
let metrics: MetricsRegistry;
let controller: InProcessController;
let clients: CsiClients;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "rds-csi-controller-fenced-"));
  sim = await startSimulator({ stateDir: join(dir, "rds"), authorizedKeys: key.public, poolSize: "100G" });
  api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
  metrics = new MetricsRegistry();
  controller = await startInProcessController({
    rds: operatorLogin(sim, key.private),
    socketDir: dir,
    copyTrust: "unverified",
    arbiter: (rds) =>
      (arbiter = createPublishArbiter({
        rds,
        driverName: DRIVER,
        logger: silent,
        metrics,
        client: fakeKubeClient(api.url),
        hostAccessControl: true,
        nvmeAddress: () => "127.0.0.1",
        informerTuning: { backoffInitialMs: 20, backoffMaxMs: 100, jitter: 0 },
      })),
  });
  clients = connectCsi(controller.endpoint);
  for (const node of ["node-a", "node-b"]) {
    api.put("Node", { apiVersion: "v1", kind: "Node", metadata: { name: node, annotations: { [HOST_NQN_ANNOTATION]: hostNqn(node) } } });
    api.put("CSINode", { apiVersion: "storage.k8s.io/v1", kind: "CSINode", metadata: { name: node }, spec: { drivers: [{ name: DRIVER, nodeID: node }] } });
  }
});

afterEach(async () => {
  clients.close();
  await controller.stop();
  await arbiter.close();
  await api.stop();
  await sim.stop();
  await rm(dir, { recursive: true, force: true });
});

/** An RWX block volume on the RDS with its PV, published to node-a and node-b as the external-attacher does it. */
async function volumeOnTwoNodes(): Promise<csi.Volume> {
  const created = await callUnary(clients.controller, clients.controller.createVolume, csi.CreateVolumeRequest.fromPartial({ name: "pvc-vm", capacityRange: { requiredBytes: GiB }, volumeCapabilities: [rwxBlock] }));
  const volume = created.volume!;
  api.put("PersistentVolume", {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "pvc-vm" },
    spec: { accessModes: ["ReadWriteMany"], volumeMode: "Block", csi: { driver: DRIVER, volumeHandle: volume.volumeId } },
  });
  for (const node of ["node-a", "node-b"]) {
    attachment(volume.volumeId, node, false);
    expect(await statusOf(publish(volume, node))).toEqual({ status: "OK", details: "" });
    attachment(volume.volumeId, node, true);
  }
  await until(async () => expect(await arbiter.publishedNodes(volume.volumeId)).toEqual(["node-a", "node-b"]));
  expect(allowed(volume.volumeId)).toEqual([hostNqn("node-a"), hostNqn("node-b")]);
  return volume;
}

function attachment(volumeId: string, node: string, attached: boolean): void {
  api.put("VolumeAttachment", {
    apiVersion: "storage.k8s.io/v1",
    kind: "VolumeAttachment",
    metadata: { name: volumeAttachmentName(volumeId, DRIVER, node) },
    spec: { attacher: DRIVER, nodeName: node, source: { persistentVolumeName: "pvc-vm" } },
    status: { attached },
  });
}

function publish(volume: csi.Volume, node: string): Promise<csi.ControllerPublishVolumeResponse> {
  const request = csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: node, volumeCapability: rwxBlock, volumeContext: volume.volumeContext });
  return callUnary(clients.controller, clients.controller.controllerPublishVolume, request);
}

/** The export's allow-list as the RDS holds it. */
function allowed(volumeId: string): readonly string[] {
  const disk = sim.disks().find((candidate) => candidate.slot === volumeId);
  if (!disk) throw new Error(`no disk ${volumeId} on the RDS`);
  return [...disk.allowedHosts].sort();
}

/**
 * node-a fenced as the attachment-reconciler writes it: the fence record on the Node (`record`), its
 * host taken off the export through core's allow-list writer, and the out-of-service taint (`taint`).
 */
async function fence(volumeId: string, how: { record: boolean; taint: boolean }): Promise<void> {
  const node = api.get("Node", undefined, "node-a") as KubeNode;
  const at = new Date().toISOString();
  const record = { phase: "done", detectedAt: at, startedAt: at, doneAt: at, strategies: { storage: "success", taint: "success" }, connectionsCut: true, taintAdded: true, revoked: [volumeId] };
  api.put("Node", {
    ...node,
    metadata: { ...node.metadata, annotations: { ...node.metadata?.annotations, ...(how.record && { [FENCE_ANNOTATION]: JSON.stringify(record) }) } },
    spec: { ...node.spec, taints: how.taint ? [{ ...OUT_OF_SERVICE_TAINT, timeAdded: at }] : [] },
  });
  await setExportAllowList(controller.rds, volumeId, [hostNqn("node-b")], AbortSignal.timeout(5_000));
  expect(allowed(volumeId)).toEqual([hostNqn("node-b")]);
}

async function until(check: () => Promise<void>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

const allowListWrites = (): number => sim.commandLog().filter((entry) => entry.command.includes("nvme-tcp-server-allow-host-name")).length;

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
    expect(allowed(volume.volumeId)).toEqual([hostNqn("node-b")]);
    const refusals = (await metrics.metrics()).split("\n").find((line) => line.startsWith('rds_csi_controller_attach_conflicts_total{reason="node_fenced"}'));
    expect(refusals).toMatch(/ 1$/);

    // node-b's publish rewrites the allow-list from the VolumeAttachments; node-a's still says attached,
    // yet its host stays out while the node is fenced.
    expect(await statusOf(publish(volume, "node-b"))).toEqual({ status: "OK", details: "" });
    expect(allowed(volume.volumeId)).toEqual([hostNqn("node-b")]);

    // Unpublishing the fenced node removes access, so it is never refused.
    const unpublish = csi.ControllerUnpublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: "node-a" });
    expect(await statusOf(callUnary(clients.controller, clients.controller.controllerUnpublishVolume, unpublish))).toEqual({ status: "OK", details: "" });
    expect(allowed(volume.volumeId)).toEqual([hostNqn("node-b")]);
  });
});
