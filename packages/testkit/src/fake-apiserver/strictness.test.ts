import { kubeRequest } from "@rds-csi/core/k8s";
import { fakeKubeEachTest } from "./fake-kube-each-test.js";
import { fakeKubeClient } from "./kube-config.js";

/**
 * Where kube-apiserver refuses and a kinder fake would let a driver bug through (issue 10 item 11).
 * Each case fails on the fake as it was before: it accepted all of these.
 */
describe("fake API server strictness", () => {
  const kube = fakeKubeEachTest("strictness-test");
  const signal = (): AbortSignal => AbortSignal.timeout(5_000);
  /** the raw answer, without the client's own refusals in the way */
  const send = async (
    method: "GET" | "POST" | "PUT" | "PATCH",
    path: string,
    body?: unknown,
    contentType?: string,
    query?: Record<string, string>,
  ): Promise<{ code: number; status?: unknown }> => {
    try {
      await kubeRequest(kube.client.connection, "raw", { method, path, body, query, ...(contentType ? { headers: { "content-type": contentType } } : {}) }, signal());
      return { code: 200 };
    } catch (err) {
      const cause = (err as Error).cause as { code: number; reason?: string; detailsKind?: string; statusMessage?: string };
      return { code: cause.code, status: { reason: cause.reason, kind: cause.detailsKind, message: cause.statusMessage } };
    }
  };

  const va = { apiVersion: "storage.k8s.io/v1", kind: "VolumeAttachment", metadata: { name: "va-1" }, spec: { attacher: "rds.csi.srvlab.io", nodeName: "n1", source: { persistentVolumeName: "pv-1" } } };
  const vaPath = "/apis/storage.k8s.io/v1/volumeattachments";

  it("VolumeAttachment: no field selectors beyond metadata, spec immutable, update needs a resourceVersion", async () => {
    await kube.client.create(`create VA`, vaPath, va, signal());
    for (const fieldSelector of ["spec.attacher=rds.csi.srvlab.io", "spec.nodeName=n1"]) {
      expect(await send("GET", vaPath, undefined, undefined, { fieldSelector })).toMatchObject({ code: 400, status: { reason: "BadRequest" } });
    }
    const current = kube.api.get("VolumeAttachment", undefined, "va-1")!;
    expect(await send("PUT", `${vaPath}/va-1`, { ...current, spec: { ...va.spec, nodeName: "n2" } })).toMatchObject({
      code: 422,
      status: { reason: "Invalid", kind: "VolumeAttachment", message: expect.stringContaining("field is immutable") },
    });
    expect(await send("PATCH", `${vaPath}/va-1`, { spec: { nodeName: "n2" } }, "application/merge-patch+json")).toMatchObject({ code: 422 });
    const unversioned = { ...current.metadata };
    delete unversioned.resourceVersion;
    expect(await send("PUT", `${vaPath}/va-1`, { ...current, metadata: { ...unversioned, labels: { a: "1" } } })).toMatchObject({
      code: 422,
      status: { reason: "Invalid", message: 'volumeattachments.storage.k8s.io "va-1" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update' },
    });
    expect(kube.api.get("VolumeAttachment", undefined, "va-1")).toEqual(current);
    // A Node's strategy allows an unconditional update.
    kube.api.put("Node", { metadata: { name: "n1" } });
    expect(await send("PUT", "/api/v1/nodes/n1", { metadata: { name: "n1", labels: { a: "1" } } })).toMatchObject({ code: 200 });
  });

  it("Pod, PersistentVolume and PersistentVolumeClaim status only through the status subresource", async () => {
    kube.api.put("Pod", { metadata: { name: "p", namespace: "default" }, spec: { nodeName: "n1" } });
    expect(await send("PATCH", "/api/v1/namespaces/default/pods/p", { status: { phase: "Running" } }, "application/merge-patch+json")).toMatchObject({ code: 200 });
    expect(kube.api.get("Pod", "default", "p")?.["status"]).toEqual({});
    await send("PATCH", "/api/v1/namespaces/default/pods/p/status", { spec: { nodeName: "n2" }, status: { phase: "Running" } }, "application/merge-patch+json");
    expect(kube.api.get("Pod", "default", "p")).toMatchObject({ spec: { nodeName: "n1" }, status: { phase: "Running" } });
    for (const [kind, namespace, path] of [
      ["PersistentVolume", undefined, "/api/v1/persistentvolumes/pv"],
      ["PersistentVolumeClaim", "default", "/api/v1/namespaces/default/persistentvolumeclaims/pv"],
    ] as const) {
      kube.api.put(kind, { metadata: { name: "pv", namespace } });
      expect(await send("PATCH", path, { status: { phase: "Bound" } }, "application/merge-patch+json")).toMatchObject({ code: 200 });
      expect(kube.api.get(kind, namespace, "pv")).toBeDefined();
      expect(kube.api.get(kind, namespace, "pv")?.["status"]).toEqual({});
      await send("PATCH", `${path}/status`, { status: { phase: "Bound" } }, "application/merge-patch+json");
      expect(kube.api.get(kind, namespace, "pv")?.["status"]).toEqual({ phase: "Bound" });
    }
  });

  it("a Node made without a spec is served with spec {} (a Go struct is never omitted), so adding /spec/taints applies", async () => {
    await send("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: "bare" } });
    const node = (await kube.client.get("read", "/api/v1/nodes/bare", signal())) as { spec?: unknown; status?: unknown };
    expect(node).toMatchObject({ spec: {}, status: {} });
    const taint = { key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute" };
    expect(await send("PATCH", "/api/v1/nodes/bare", [{ op: "add", path: "/spec/taints", value: [taint] }], "application/json-patch+json")).toEqual({ code: 200 });
  });

  it("Lease times are MicroTime: exactly six fractional digits", async () => {
    const path = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
    const lease = (renewTime: string) => ({ metadata: { name: "l" }, spec: { holderIdentity: "a", leaseDurationSeconds: 15, renewTime } });
    for (const renewTime of ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123Z", "2026-01-01T00:00:00.123456789Z"]) {
      expect(await send("POST", path, lease(renewTime))).toMatchObject({ code: 400, status: { reason: "BadRequest" } });
    }
    expect(await send("POST", path, lease("2026-01-01T00:00:00.123456Z"))).toMatchObject({ code: 200 });
    expect(await send("PATCH", `${path}/l`, { spec: { acquireTime: "2026-01-01T00:00:01.5Z" } }, "application/merge-patch+json")).toMatchObject({ code: 400 });
  });

  it("a create in a namespace that does not exist is 404; a new cluster's namespaces exist", async () => {
    expect(await send("POST", "/api/v1/namespaces/nowhere/events", { metadata: { name: "e" } })).toMatchObject({
      code: 404,
      status: { reason: "NotFound", kind: "namespaces", message: 'namespaces "nowhere" not found' },
    });
    for (const namespace of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
      expect(await send("POST", `/api/v1/namespaces/${namespace}/events`, { metadata: { name: "e" } })).toMatchObject({ code: 200 });
    }
    kube.api.addNamespace("rds-csi");
    expect(await send("POST", "/api/v1/namespaces/rds-csi/events", { metadata: { name: "e" } })).toMatchObject({ code: 200 });
  });

  it("records every call as RBAC sees it, with the caller's User-Agent", async () => {
    kube.api.put("Node", { metadata: { name: "n1" } });
    const other = fakeKubeClient(kube.api.url, "rds-csi-attachment-reconciler");
    try {
      await kube.client.list("list VAs", vaPath, signal());
      await other.get("read Node", "/api/v1/nodes/n1", signal());
      await other.mergePatch("annotate", "/api/v1/namespaces/default/pods/p/status", {}, signal()).catch(() => undefined);
      await send("GET", "/not/an/api");
    } finally {
      other.connection.close();
    }
    expect(kube.api.apiCalls()).toEqual([
      { userAgent: "strictness-test", verb: "list", group: "storage.k8s.io", resource: "volumeattachments" },
      { userAgent: "rds-csi-attachment-reconciler", verb: "get", group: "", resource: "nodes", name: "n1" },
      { userAgent: "rds-csi-attachment-reconciler", verb: "patch", group: "", resource: "pods", subresource: "status", namespace: "default", name: "p" },
    ]);
  });
});
