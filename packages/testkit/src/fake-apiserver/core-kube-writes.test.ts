import { AlreadyExistsError, ConflictError, InternalError, InvalidArgumentError, NotFoundError, UnavailableError } from "@rds-csi/core";
import { jsonPointer, listItemAddition, listItemRemoval, type KubeObject, type VolumeAttachment } from "@rds-csi/core/k8s";
import { fakeKubeEachTest } from "./fake-kube-each-test.js";

interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
}
type NodeWithTaints = KubeObject & { spec?: { taints?: Taint[] } };

const VA_PATH = "/apis/storage.k8s.io/v1/volumeattachments";
const FINALIZER = "external-attacher/rds-csi-srvlab-io";
const OUT_OF_SERVICE: Taint = { key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute" };

/** The write calls an operator needs, through core/k8s's client, against the fake API server over HTTP. */
describe("core/k8s KubeClient writes against the fake API server", () => {
  const kube = fakeKubeEachTest();
  const signal = (): AbortSignal => AbortSignal.timeout(5_000);

  const attachment = (name: string): VolumeAttachment => ({
    apiVersion: "storage.k8s.io/v1",
    kind: "VolumeAttachment",
    metadata: { name },
    spec: { attacher: "rds.csi.srvlab.io", nodeName: "n1", source: { persistentVolumeName: "pv-1" } },
  });

  it("tells AlreadyExists from Conflict: both are HTTP 409, the Status.reason differs", async () => {
    const created = await kube.client.create<VolumeAttachment>("create VA", VA_PATH, attachment("va-1"), signal());
    const again = kube.client.create("create VA", VA_PATH, attachment("va-1"), signal());
    await expect(again).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(again).rejects.toThrow('volumeattachments.storage.k8s.io "va-1" already exists');

    const path = `${VA_PATH}/va-1`;
    const labelled = { ...created, metadata: { ...created.metadata, labels: { a: "1" } } };
    await kube.client.update("update VA", path, labelled, signal());
    const stale = kube.client.update("update VA", path, { ...labelled, metadata: { ...labelled.metadata, labels: { a: "2" } } }, signal());
    await expect(stale).rejects.toBeInstanceOf(ConflictError);
    await expect(stale).rejects.not.toBeInstanceOf(AlreadyExistsError);
    expect(kube.api.get("VolumeAttachment", undefined, "va-1")?.metadata.labels).toEqual({ a: "1" });
  });

  it("update: refused before sending without a resourceVersion; the status subresource changes only status", async () => {
    const created = await kube.client.create<VolumeAttachment>("create VA", VA_PATH, attachment("va-1"), signal());
    const before = kube.api.requests().length;
    const unversioned = { ...created.metadata };
    delete unversioned.resourceVersion;
    await expect(kube.client.update("update VA", `${VA_PATH}/va-1`, { ...created, metadata: unversioned }, signal())).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(kube.api.requests()).toHaveLength(before);

    const attached = await kube.client.update<VolumeAttachment>(
      "attach VA",
      `${VA_PATH}/va-1/status`,
      { ...created, metadata: { ...created.metadata, labels: { ignored: "yes" } }, status: { attached: true, attachmentMetadata: { port: "4420" } } },
      signal(),
    );
    expect(attached.status).toEqual({ attached: true, attachmentMetadata: { port: "4420" } });
    expect(attached.metadata?.labels).toBeUndefined();
  });

  it("delete: uid and resourceVersion preconditions, a finalizer holds the object", async () => {
    const created = await kube.client.create<VolumeAttachment>("create VA", VA_PATH, { ...attachment("va-1"), metadata: { name: "va-1", finalizers: [FINALIZER] } }, signal());
    const path = `${VA_PATH}/va-1`;
    await expect(kube.client.delete("delete VA", path, signal(), { preconditions: { uid: "someone-else" } })).rejects.toBeInstanceOf(ConflictError);
    const relabelled = await kube.client.mergePatch<VolumeAttachment>("label VA", path, { metadata: { labels: { a: "1" } } }, signal());
    await expect(kube.client.delete("delete VA", path, signal(), { preconditions: { resourceVersion: created.metadata?.resourceVersion } })).rejects.toBeInstanceOf(ConflictError);
    expect(kube.api.get("VolumeAttachment", undefined, "va-1")?.metadata.deletionTimestamp).toBeUndefined();
    const terminating = await kube.client.delete("delete VA", path, signal(), {
      preconditions: { uid: created.metadata?.uid, resourceVersion: relabelled.metadata?.resourceVersion },
      propagationPolicy: "Background",
    });
    expect(terminating.metadata?.deletionTimestamp).toEqual(expect.any(String));
    expect(kube.api.get("VolumeAttachment", undefined, "va-1")).toBeDefined();
    await expect(kube.client.delete("delete VA", `${VA_PATH}/gone`, signal())).rejects.toBeInstanceOf(NotFoundError);
  });

  it("JSON patch with test ops: a finalizer removed next to one another controller added, a stale removal refused", async () => {
    await kube.client.create("create VA", VA_PATH, { ...attachment("va-1"), metadata: { name: "va-1", finalizers: ["other/keep", FINALIZER] } }, signal());
    const path = `${VA_PATH}/va-1`;
    const seen = (await kube.client.get<VolumeAttachment>("read VA", path, signal())).metadata?.finalizers;
    // Another controller appends a finalizer after we read: our removal still applies, theirs is kept.
    await kube.client.jsonPatch("add finalizer", path, [{ op: "add", path: "/metadata/finalizers/-", value: "late/arrival" }], signal());
    const ops = listItemRemoval(jsonPointer("metadata", "finalizers"), seen, (f) => f === FINALIZER);
    expect(ops).toEqual([
      { op: "test", path: "/metadata/finalizers/1", value: FINALIZER },
      { op: "remove", path: "/metadata/finalizers/1" },
    ]);
    const patched = await kube.client.jsonPatch<VolumeAttachment>("remove finalizer", path, ops, signal());
    expect(patched.metadata?.finalizers).toEqual(["other/keep", "late/arrival"]);
    // The same removal again, on a list that changed under it: 422 without details → ConflictError.
    await expect(kube.client.jsonPatch("remove finalizer", path, ops, signal())).rejects.toBeInstanceOf(ConflictError);
    expect(kube.api.get("VolumeAttachment", undefined, "va-1")?.metadata.finalizers).toEqual(["other/keep", "late/arrival"]);
  });

  it("JSON patch adds a taint without replacing taints others wrote, and refuses when the list changed", async () => {
    // kube-apiserver always serves a Node's spec (a struct, never omitted), so /spec/taints has a parent.
    kube.api.put("Node", { metadata: { name: "n1" }, spec: {} });
    const path = "/api/v1/nodes/n1";
    const pointer = jsonPointer("spec", "taints");
    const sameTaint = (a: Taint, b: Taint): boolean => a.key === b.key && a.effect === b.effect;
    const read = async (): Promise<NodeWithTaints> => kube.client.get<NodeWithTaints>("read Node", path, signal());

    const fresh = await read();
    const first = listItemAddition(pointer, fresh.spec?.taints, OUT_OF_SERVICE, fresh.metadata!.resourceVersion!, sameTaint);
    // Meanwhile the node controller taints the node: the absent-list addition is guarded by resourceVersion.
    await kube.client.jsonPatch("taint", path, [{ op: "add", path: pointer, value: [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }] }], signal());
    await expect(kube.client.jsonPatch("fence", path, first, signal())).rejects.toBeInstanceOf(ConflictError);

    const current = await read();
    const ops = listItemAddition(pointer, current.spec?.taints, OUT_OF_SERVICE, current.metadata!.resourceVersion!, sameTaint);
    const fenced = await kube.client.jsonPatch<NodeWithTaints>("fence", path, ops, signal());
    expect(fenced.spec?.taints).toEqual([{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }, OUT_OF_SERVICE]);
    expect(listItemAddition(pointer, fenced.spec?.taints, { ...OUT_OF_SERVICE, value: "other" }, fenced.metadata!.resourceVersion!, sameTaint)).toEqual([]);
    expect(jsonPointer("metadata", "annotations", "rds.csi.srvlab.io/fenced~at")).toBe("/metadata/annotations/rds.csi.srvlab.io~1fenced~0at");
  });

  it("a validation refusal (422 with details.kind) stays an InternalError: a bug on our side", async () => {
    await kube.client.create("create VA", VA_PATH, attachment("va-1"), signal());
    const changed = kube.client.jsonPatch("move VA", `${VA_PATH}/va-1`, [{ op: "replace", path: "/spec/nodeName", value: "n2" }], signal());
    await expect(changed).rejects.toBeInstanceOf(InternalError);
    await expect(changed).rejects.toThrow("spec: Invalid value");
  });

  it("honours Retry-After on 429 and 503 within the call's deadline, and gives up when the wait would pass it", async () => {
    kube.api.put("Node", { metadata: { name: "n1" } });
    kube.api.failNext({ status: 429, retryAfterSeconds: 1, path: /nodes\/n1$/ });
    kube.api.failNext({ status: 503, retryAfterSeconds: 0, path: /nodes\/n1$/ });
    const began = Date.now();
    const node = await kube.client.get("read Node", "/api/v1/nodes/n1", signal());
    expect(node.metadata?.name).toBe("n1");
    expect(Date.now() - began).toBeGreaterThanOrEqual(950);
    expect(kube.api.requests().filter((r) => r.path === "/api/v1/nodes/n1")).toHaveLength(3);

    // A wait beyond the default 10 s deadline is not begun: the error goes to the caller at once.
    kube.api.failNext({ status: 429, retryAfterSeconds: 60, path: /nodes\/n1$/ });
    const refusedAt = Date.now();
    await expect(kube.client.get("read Node", "/api/v1/nodes/n1", signal())).rejects.toBeInstanceOf(UnavailableError);
    expect(Date.now() - refusedAt).toBeLessThan(1_000);
  });
});
