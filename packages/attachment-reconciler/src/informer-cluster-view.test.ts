import { setTimeout as sleep } from "node:timers/promises";
import { createLogger } from "@rds-csi/core";
import { fakeKubeEachTest } from "@rds-csi/testkit";
import { PassThrough } from "node:stream";
import { InformerClusterView } from "./informer-cluster-view.js";

const DRIVER = "rds.csi.srvlab.io";

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await sleep(10);
  }
}

describe("InformerClusterView against the fake API server", () => {
  const kube = fakeKubeEachTest();
  let view: InformerClusterView;
  const queued: string[] = [];

  beforeEach(async () => {
    queued.length = 0;
    kube.api.put("Node", { metadata: { name: "n1" } });
    kube.api.put("PersistentVolume", { metadata: { name: "pv-1" }, spec: { csi: { driver: DRIVER, volumeHandle: "pvc-1" } } });
    kube.api.put("VolumeAttachment", { metadata: { name: "va-1" }, spec: { attacher: DRIVER, nodeName: "n1", source: { persistentVolumeName: "pv-1" } } });
    kube.api.put("VolumeAttachment", { metadata: { name: "va-other" }, spec: { attacher: "other.csi.example.org", nodeName: "n1", source: { persistentVolumeName: "pv-x" } } });
    view = new InformerClusterView({ client: kube.client, driverName: DRIVER, logger: createLogger({ level: "error", component: "test", stream: new PassThrough() }) });
    view.onNodeWork((node) => queued.push(node));
    view.start();
    await view.waitForSync(AbortSignal.timeout(5_000));
  });

  afterEach(async () => {
    await view.stop();
  });

  it("keeps this driver's VolumeAttachments by node, as they come and go", async () => {
    expect(view.attachmentsOn("n1").map((va) => va.metadata?.name)).toEqual(["va-1"]);
    kube.api.put("VolumeAttachment", { metadata: { name: "va-2" }, spec: { attacher: DRIVER, nodeName: "n2", source: { persistentVolumeName: "pv-1" } } });
    await eventually(() => view.attachmentsOn("n2").length === 1, "va-2 listed on n2");
    kube.api.remove("VolumeAttachment", undefined, "va-1");
    await eventually(() => view.attachmentsOn("n1").length === 0, "va-1 gone from n1");
    expect(view.attachments().map((va) => va.metadata?.name)).toEqual(["va-2"]);
  });

  it("queues the node an event concerns: a Node's own, a VolumeAttachment's node, the nodes attached to a PV", async () => {
    queued.length = 0; // the first lists queue nothing the resync after them does not cover
    kube.api.put("Node", { metadata: { name: "n1", annotations: { a: "b" } } });
    await eventually(() => queued.includes("n1"), "the Node change queued n1");
    queued.length = 0;
    kube.api.put("VolumeAttachment", { metadata: { name: "va-3" }, spec: { attacher: DRIVER, nodeName: "n3", source: { persistentVolumeName: "pv-3" } } });
    kube.api.put("VolumeAttachment", { metadata: { name: "va-4" }, spec: { attacher: "other.csi.example.org", nodeName: "n4", source: { persistentVolumeName: "pv-3" } } });
    await eventually(() => queued.includes("n3"), "the VolumeAttachment queued n3");
    queued.length = 0;
    kube.api.put("PersistentVolume", { metadata: { name: "pv-1", labels: { changed: "yes" } }, spec: { csi: { driver: DRIVER, volumeHandle: "pvc-1" } } });
    await eventually(() => queued.includes("n1"), "the PV change queued n1");
    await sleep(100);
    expect(queued).toEqual(["n1"]);
  });
});
