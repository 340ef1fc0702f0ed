import { apiFailure, startFakeCluster, type FakeCluster } from "./test-support/clients.js";

describe("routing, listing, selectors and pagination", () => {
  let c: FakeCluster;
  const raw = async (method: string, path: string, body?: string, contentType = "application/json") => {
    const response = await fetch(`${c.server.url}${path}`, { method, headers: { "content-type": contentType }, ...(body === undefined ? {} : { body }) });
    return { code: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  beforeEach(async () => {
    c = await startFakeCluster();
    c.server.put("Pod", { metadata: { name: "db-0", namespace: "a", labels: { app: "db", tier: "data" } }, spec: { nodeName: "n1" } });
    c.server.put("Pod", { metadata: { name: "db-1", namespace: "b", labels: { app: "db" } }, spec: { nodeName: "n2" } });
    c.server.put("Pod", { metadata: { name: "web-0", namespace: "a", labels: { app: "web" } }, spec: { nodeName: "n1" } });
    c.server.put("Pod", { metadata: { name: "batch-0", namespace: "a" } });
  });
  afterEach(async () => {
    await c.server.stop();
  });

  // lists are ordered by namespace, then name
  const names = (list: { items: { metadata?: { name?: string } }[] }) => list.items.map((i) => i.metadata?.name);

  it("lists with the list's resourceVersion, items without apiVersion/kind, as the real server", async () => {
    const { code, json } = await raw("GET", "/api/v1/namespaces/a/pods");
    expect(code).toBe(200);
    expect(json).toMatchObject({ apiVersion: "v1", kind: "PodList", metadata: { resourceVersion: "4" } });
    const items = json["items"] as Record<string, unknown>[];
    expect(items.map((i) => (i["metadata"] as { name: string }).name)).toEqual(["batch-0", "db-0", "web-0"]);
    expect(items[0]).not.toHaveProperty("kind");
    expect(items[0]).not.toHaveProperty("apiVersion");
  });

  it.each([
    ["app=db", ["db-0", "db-1"]],
    ["app!=db", ["batch-0", "web-0"]],
    ["app in (web,cache)", ["web-0"]],
    ["app notin (web)", ["batch-0", "db-0", "db-1"]],
    ["app", ["db-0", "web-0", "db-1"]],
    ["!app", ["batch-0"]],
    ["app=db,tier", ["db-0"]],
  ])("selects labels %j", async (labelSelector, expected) => {
    expect(names(await c.core.listPodForAllNamespaces({ labelSelector }))).toEqual(expected);
  });

  it.each([
    ["spec.nodeName=n1", ["db-0", "web-0"]],
    ["spec.nodeName=", ["batch-0"]],
    ["metadata.namespace=b", ["db-1"]],
    ["metadata.name=web-0", ["web-0"]],
    ["metadata.namespace=a,spec.nodeName!=n1", ["batch-0"]],
  ])("selects fields %j", async (fieldSelector, expected) => {
    expect(names(await c.core.listPodForAllNamespaces({ fieldSelector }))).toEqual(expected);
  });

  it("refuses VolumeAttachment field selectors other than metadata.name, as the real server does (none registered)", async () => {
    const va = (name: string, attacher: string, nodeName: string) => ({ metadata: { name }, spec: { attacher, nodeName, source: { persistentVolumeName: name } } });
    c.server.put("VolumeAttachment", va("va-1", "rds.csi.mikrotik.com", "n1"));
    c.server.put("VolumeAttachment", va("va-2", "other.csi", "n1"));
    for (const fieldSelector of ["spec.attacher=rds.csi.mikrotik.com", "spec.nodeName=n1"]) {
      expect(await apiFailure(c.storage.listVolumeAttachment({ fieldSelector }))).toMatchObject({ code: 400, status: { reason: "BadRequest" } });
    }
    expect(names(await c.storage.listVolumeAttachment({ fieldSelector: "metadata.name=va-2" }))).toEqual(["va-2"]);
  });

  it("answers bad selectors with 400", async () => {
    expect(await apiFailure(c.core.listPodForAllNamespaces({ fieldSelector: "spec.attacher=x" }))).toMatchObject({
      code: 400,
      status: { reason: "BadRequest", message: "field label not supported: spec.attacher" },
    });
    expect((await apiFailure(c.core.listPodForAllNamespaces({ labelSelector: "app in db" }))).code).toBe(400);
  });

  it("pages with limit and continue at one resourceVersion", async () => {
    const first = await c.core.listPodForAllNamespaces({ limit: 3 });
    expect(names(first)).toEqual(["batch-0", "db-0", "web-0"]);
    expect(first.metadata?.remainingItemCount).toBe(1);
    c.server.put("Pod", { metadata: { name: "late", namespace: "c" } });
    const second = await c.core.listPodForAllNamespaces({ limit: 3, _continue: first.metadata?._continue });
    expect(names(second)).toEqual(["db-1", "late"]);
    expect(second.metadata?._continue).toBeUndefined();
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    expect(c.server.requests().at(-1)?.query).toEqual({ limit: "3", continue: first.metadata?._continue });

    const filtered = await c.core.listNamespacedPod({ namespace: "a", labelSelector: "app", limit: 1 });
    expect(names(filtered)).toEqual(["db-0"]);
    expect(names(await c.core.listNamespacedPod({ namespace: "a", labelSelector: "app", limit: 1, _continue: filtered.metadata?._continue }))).toEqual(["web-0"]);
  });

  it("answers an invalid continue token with 400 and one older than the history with 410", async () => {
    expect((await apiFailure(c.core.listPodForAllNamespaces({ limit: 1, _continue: "garbage" }))).code).toBe(400);
    const first = await c.core.listPodForAllNamespaces({ limit: 1 });
    c.server.put("Pod", { metadata: { name: "late", namespace: "c" } });
    c.server.compactHistory();
    expect(await apiFailure(c.core.listPodForAllNamespaces({ limit: 1, _continue: first.metadata?._continue }))).toMatchObject({
      code: 410,
      status: { reason: "Expired", message: expect.stringContaining("continue parameter is too old") },
    });
  });

  it("answers paths, methods and bodies it does not serve like the real server", async () => {
    expect(await raw("GET", "/api/v1/namespaces")).toMatchObject({ code: 404, json: { reason: "NotFound", message: "the server could not find the requested resource" } });
    expect((await raw("GET", "/apis/apps/v1/deployments")).code).toBe(404);
    expect((await raw("GET", "/healthz")).code).toBe(404);
    expect((await raw("GET", "/api/v1/namespaces/a/nodes")).code).toBe(404);
    expect((await raw("GET", "/api/v1/pods/db-0")).code).toBe(404);
    expect((await raw("GET", "/api/v1/namespaces/a/pods/db-0/log")).code).toBe(404);
    expect((await raw("GET", "/apis/coordination.k8s.io/v1/namespaces/a/leases/l/status")).code).toBe(404);
    expect((await raw("GET", "/api/v1/namespaces/a/pods/db-0/x/y")).code).toBe(404);
    expect(await raw("POST", "/api/v1/pods", "{}")).toMatchObject({ code: 405, json: { reason: "MethodNotAllowed" } });
    expect((await raw("DELETE", "/api/v1/namespaces/a/pods")).code).toBe(405);
    expect((await raw("POST", "/api/v1/namespaces/a/pods/db-0")).code).toBe(405);
    expect((await raw("DELETE", "/api/v1/nodes/n1/status")).code).toBe(405);
    expect(await raw("POST", "/api/v1/namespaces/a/pods", "{not json")).toMatchObject({ code: 400, json: { message: "the request body is not valid JSON" } });
    expect((await raw("POST", "/api/v1/namespaces/a/pods", "[]")).code).toBe(400);
    expect((await raw("POST", "/api/v1/namespaces/a/pods", "")).code).toBe(400);
    expect((await raw("POST", "/api/v1/namespaces/a/pods", '{"metadata":{"name":"x","labels":{"a":1}}}')).code).toBe(400);
    expect((await raw("POST", "/api/v1/namespaces/a/pods", '{"metadata":{"name":7}}')).code).toBe(400);
    expect((await raw("POST", "/api/v1/namespaces/a/pods", '{"metadata":{"name":"x","finalizers":"f"}}')).code).toBe(400);
    expect((await raw("POST", "/api/v1/namespaces/a/pods", '{"metadata":[]}')).code).toBe(400);
    expect((await raw("DELETE", "/api/v1/namespaces/a/pods/db-0", "[]")).code).toBe(400);
    expect((await raw("GET", "/api/v1/pods?limit=many")).json).toMatchObject({ code: 400, message: 'invalid limit: "many"' });
    expect((await raw("GET", "/api/v1/pods?watch=true&resourceVersion=abc")).code).toBe(400);
  });

  it("decodes percent-encoded path segments", async () => {
    expect((await raw("GET", "/api/v1/namespaces/a/pods/db%2D0")).code).toBe(200);
  });
});
