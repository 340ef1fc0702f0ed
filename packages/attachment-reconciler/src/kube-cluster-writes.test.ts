import { ConflictError } from "@rds-csi/core";
import { OUT_OF_SERVICE_TAINT, type VolumeAttachment } from "@rds-csi/core/k8s";
import { fakeKubeClient, startFakeApiServer, type FakeApiServer } from "@rds-csi/testkit";
import type { ClusterNode } from "./cluster-objects.js";
import { KubeClusterWrites } from "./kube-cluster-writes.js";

const signal = new AbortController().signal;
const OTHER_TAINT = { key: "node.kubernetes.io/unreachable", effect: "NoExecute" };

describe("KubeClusterWrites against the fake API server", () => {
  let api: FakeApiServer;
  let client: ReturnType<typeof fakeKubeClient>;
  let writes: KubeClusterWrites;

  beforeEach(async () => {
    api = await startFakeApiServer();
    client = fakeKubeClient(api.url);
    writes = new KubeClusterWrites(client);
  });

  afterEach(async () => {
    client.connection.close();
    await api.stop();
  });

  const node = () => api.get("Node", undefined, "n1") as ClusterNode;
  const attachment = () => api.get("VolumeAttachment", undefined, "csi-1") as VolumeAttachment | undefined;

  it("adds the out-of-service taint beside the node's other taints, once, and removes only its own", async () => {
    api.put("Node", { metadata: { name: "n1" }, spec: { taints: [OTHER_TAINT] } });
    await writes.addNodeTaint(node(), OUT_OF_SERVICE_TAINT, signal);
    await writes.addNodeTaint(node(), OUT_OF_SERVICE_TAINT, signal);
    expect(node().spec?.taints?.map((taint) => taint.key)).toEqual([OTHER_TAINT.key, OUT_OF_SERVICE_TAINT.key]);
    await writes.removeNodeTaint(node(), OUT_OF_SERVICE_TAINT, signal);
    expect(node().spec?.taints).toEqual([OTHER_TAINT]);
  });

  it("taints a node without taints, and fails (ConflictError) instead of overwriting taints set since the node was read", async () => {
    api.put("Node", { metadata: { name: "n1" }, spec: {} });
    const read = node();
    api.put("Node", { metadata: { name: "n1" }, spec: { taints: [OTHER_TAINT] } });
    await expect(writes.addNodeTaint(read, OUT_OF_SERVICE_TAINT, signal)).rejects.toBeInstanceOf(ConflictError);
    expect(node().spec?.taints).toEqual([OTHER_TAINT]);
    await writes.addNodeTaint(node(), OUT_OF_SERVICE_TAINT, signal);
    expect(node().spec?.taints).toHaveLength(2);
  });

  it("sets and removes one annotation, leaving the others", async () => {
    api.put("Node", { metadata: { name: "n1", annotations: { keep: "me" } } });
    await writes.setNodeAnnotation("n1", "rds.csi.srvlab.io/fence", "{}", signal);
    expect(node().metadata?.annotations).toEqual({ keep: "me", "rds.csi.srvlab.io/fence": "{}" });
    await writes.setNodeAnnotation("n1", "rds.csi.srvlab.io/fence", null, signal);
    expect(node().metadata?.annotations).toEqual({ keep: "me" });
  });

  it("deletes a VolumeAttachment only if it is still the one read (uid), and removes the attacher's finalizer alone", async () => {
    const spec = { attacher: "rds.csi.srvlab.io", nodeName: "n1", source: { persistentVolumeName: "pv-1" } };
    api.put("VolumeAttachment", { metadata: { name: "csi-1", uid: "old", finalizers: ["external-attacher/rds-csi-srvlab-io", "other/keep"] }, spec });
    const read = attachment() as VolumeAttachment;
    api.remove("VolumeAttachment", undefined, "csi-1");
    api.put("VolumeAttachment", { metadata: { name: "csi-1", uid: "new", finalizers: ["external-attacher/rds-csi-srvlab-io", "other/keep"] }, spec });
    await expect(writes.deleteVolumeAttachment(read, signal)).rejects.toBeInstanceOf(ConflictError);
    expect(attachment()?.metadata?.deletionTimestamp).toBeUndefined();
    await writes.deleteVolumeAttachment(attachment() as VolumeAttachment, signal);
    expect(attachment()?.metadata?.deletionTimestamp).toBeDefined();
    await writes.removeVolumeAttachmentFinalizer(attachment() as VolumeAttachment, "external-attacher/rds-csi-srvlab-io", signal);
    expect(attachment()?.metadata?.finalizers).toEqual(["other/keep"]);
    api.remove("VolumeAttachment", undefined, "csi-1");
    await writes.deleteVolumeAttachment(read, signal);
  });
});
