import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Writable } from "node:stream";
import { Server, ServerCredentials, status as GrpcStatus, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { createLogger, csi } from "@rds-csi/core";
import type { KubeClient, VolumeAttachment } from "@rds-csi/core/k8s";
import { startFakeApiServer, type FakeApiServer } from "../fake-apiserver/fake-apiserver.js";
import { fakeKubeClient } from "../fake-apiserver/kube-config.js";
import { AttachDetachControllerStandIn, attachmentNameOf, OUT_OF_SERVICE_TAINT } from "./attach-detach-controller.js";
import { attacherFinalizer, ExternalAttacherStandIn } from "./external-attacher.js";

const DRIVER = "rds.csi.srvlab.io";
const FINALIZER = "external-attacher/rds-csi-srvlab-io";

/** A CSI controller that records publish/unpublish and fails the next publishes on demand. */
async function startFakeCsiController(dir: string) {
  const calls: string[] = [];
  let failPublishes = 0;
  const server = new Server();
  type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;
  const getCapabilities: Unary<csi.ControllerGetCapabilitiesRequest, csi.ControllerGetCapabilitiesResponse> = (_call, callback) =>
    callback(null, {
      capabilities: [csi.ControllerServiceCapability_RPC_Type.PUBLISH_UNPUBLISH_VOLUME, csi.ControllerServiceCapability_RPC_Type.SINGLE_NODE_MULTI_WRITER].map((type) => ({ rpc: { type } })),
    });
  const publish: Unary<csi.ControllerPublishVolumeRequest, csi.ControllerPublishVolumeResponse> = (call, callback) => {
    const { volumeId, nodeId, volumeCapability } = call.request;
    calls.push(`publish ${volumeId} ${nodeId} mode=${volumeCapability?.accessMode?.mode}`);
    if (failPublishes > 0) {
      failPublishes--;
      callback({ code: GrpcStatus.FAILED_PRECONDITION, details: "volume is published to another node" });
      return;
    }
    callback(null, { publishContext: { nvmeAddress: "10.0.0.1" } });
  };
  const unpublish: Unary<csi.ControllerUnpublishVolumeRequest, csi.ControllerUnpublishVolumeResponse> = (call, callback) => {
    calls.push(`unpublish ${call.request.volumeId} ${call.request.nodeId}`);
    callback(null, {});
  };
  server.addService(csi.ControllerService, { controllerGetCapabilities: getCapabilities, controllerPublishVolume: publish, controllerUnpublishVolume: unpublish });
  const socket = join(dir, "csi.sock");
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return {
    endpoint: `unix://${socket}`,
    calls,
    failNextPublishes: (count: number) => {
      failPublishes = count;
    },
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

describe("external-attacher and attach-detach controller stand-ins", () => {
  let dir: string;
  let api: FakeApiServer;
  let csiController: Awaited<ReturnType<typeof startFakeCsiController>>;
  let attacherClient: KubeClient;
  let kcmClient: KubeClient;
  let attacher: ExternalAttacherStandIn;
  let adc: AttachDetachControllerStandIn;
  const logger = createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, callback) => callback() }) });
  const vaName = attachmentNameOf("vol-1", DRIVER, "n1");

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "stand-ins-"));
    api = await startFakeApiServer();
    csiController = await startFakeCsiController(dir);
    attacherClient = fakeKubeClient(api.url, "csi-attacher");
    kcmClient = fakeKubeClient(api.url, "kube-controller-manager");
    api.put("Node", { metadata: { name: "n1" }, spec: {}, status: { conditions: [{ type: "Ready", status: "True" }] } });
    api.put("CSINode", { metadata: { name: "n1" }, spec: { drivers: [{ name: DRIVER, nodeID: "n1-id" }] } });
    api.put("PersistentVolume", { metadata: { name: "pv-1" }, spec: { accessModes: ["ReadWriteOnce"], csi: { driver: DRIVER, volumeHandle: "vol-1", fsType: "xfs" } } });
    api.put("PersistentVolumeClaim", { metadata: { name: "claim", namespace: "default" }, spec: { volumeName: "pv-1" } });
    attacher = new ExternalAttacherStandIn({ client: attacherClient, csiEndpoint: csiController.endpoint, driverName: DRIVER, logger, relistIntervalMs: 500 });
    adc = new AttachDetachControllerStandIn({ client: kcmClient, driverName: DRIVER, logger, relistIntervalMs: 500, maxWaitForUnmountMs: 60_000 });
    attacher.start();
    adc.start();
    await adc.waitForSync(AbortSignal.timeout(5_000));
  });
  afterEach(async () => {
    await adc.stop();
    await attacher.stop();
    attacherClient.connection.close();
    kcmClient.connection.close();
    await csiController.stop();
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const until = async (what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(10);
    }
  };
  const va = (): VolumeAttachment | undefined => api.get("VolumeAttachment", undefined, vaName) as VolumeAttachment | undefined;
  const schedulePod = (): void => {
    api.put("Pod", { metadata: { name: "app", namespace: "default" }, spec: { nodeName: "n1", volumes: [{ name: "data", persistentVolumeClaim: { claimName: "claim" } }] } });
  };
  const volumesInUse = (inUse: boolean): void => {
    const node = api.get("Node", undefined, "n1")!;
    api.put("Node", { ...node, status: { ...(node["status"] as object), volumesInUse: inUse ? [`kubernetes.io/csi/${DRIVER}^vol-1`] : [] } });
  };

  it("names finalizer and VolumeAttachment as the real components do", () => {
    expect(attacherFinalizer(DRIVER)).toBe(FINALIZER);
    expect(attacherFinalizer("odd.driver.")).toBe("external-attacher/odd-driver-X");
    expect(vaName).toBe(`csi-${createHash("sha256").update("vol-1" + DRIVER + "n1").digest("hex")}`);
  });

  it("a scheduled pod gets its volume attached; when it is gone and unmounted, detached and the VolumeAttachment removed", async () => {
    schedulePod();
    await until("attached", () => va()?.status?.attached === true);
    expect(va()).toMatchObject({
      metadata: { finalizers: [FINALIZER], annotations: { "csi.alpha.kubernetes.io/node-id": "n1-id" } },
      spec: { attacher: DRIVER, nodeName: "n1", source: { persistentVolumeName: "pv-1" } },
      status: { attached: true, attachmentMetadata: { nvmeAddress: "10.0.0.1" } },
    });
    expect(api.get("PersistentVolume", undefined, "pv-1")?.metadata.finalizers).toEqual([FINALIZER]);
    expect(csiController.calls).toEqual([`publish vol-1 n1-id mode=${csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_MULTI_WRITER}`]);

    volumesInUse(true);
    api.remove("Pod", "default", "app");
    await sleep(600); // the kubelet has not unmounted: the node is Ready, so the controller waits
    expect(va()).toBeDefined();
    expect(va()?.metadata?.deletionTimestamp).toBeUndefined();
    volumesInUse(false);
    await until("VolumeAttachment gone", () => va() === undefined);
    expect(csiController.calls).toEqual([expect.stringMatching(/^publish/), "unpublish vol-1 n1-id"]);
  });

  it("a failed publish is saved in status.attachError and retried until it succeeds", async () => {
    csiController.failNextPublishes(2);
    schedulePod();
    await until("attach error", () => va()?.status?.attachError?.message !== undefined);
    expect(va()?.status?.attachError?.message).toContain("volume is published to another node");
    await until("attached", () => va()?.status?.attached === true);
    expect(va()?.status?.attachError ?? undefined).toBeUndefined();
    expect(csiController.calls.filter((c) => c.startsWith("publish"))).toHaveLength(3);
  });

  it("out-of-service taint on a NotReady node: its pods are force-deleted and the volume detached at once, mounted or not", async () => {
    schedulePod();
    await until("attached", () => va()?.status?.attached === true);
    const node = api.get("Node", undefined, "n1")!;
    api.put("Node", {
      ...node,
      spec: { taints: [{ key: OUT_OF_SERVICE_TAINT, value: "nodeshutdown", effect: "NoExecute" }] },
      status: { conditions: [{ type: "Ready", status: "Unknown" }], volumesInUse: [`kubernetes.io/csi/${DRIVER}^vol-1`] },
    });
    await until("pod force-deleted", () => api.get("Pod", "default", "app") === undefined);
    await until("VolumeAttachment gone", () => va() === undefined);
    expect(csiController.calls.at(-1)).toBe("unpublish vol-1 n1-id");
    const verbs = api.apiCalls().filter((c) => c.userAgent === "kube-controller-manager" && c.verb === "delete").map((c) => `${c.resource}/${c.name}`);
    expect(verbs).toEqual(["pods/app", `volumeattachments/${vaName}`]);
  });
});
