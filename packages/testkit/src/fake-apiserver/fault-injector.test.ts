import { apiFailure, eventually, startFakeCluster, type FakeCluster } from "./test-support/clients.js";
import { recordWatch } from "./test-support/watch-recorder.js";

describe("fault injection, delays and the request log", () => {
  let c: FakeCluster;
  beforeEach(async () => {
    c = await startFakeCluster();
    c.server.put("Node", { metadata: { name: "n1" } });
  });
  afterEach(async () => {
    await c.server.stop();
  });

  it("fails the next matching requests with the given status, then serves again", async () => {
    c.server.failNext({ path: /^\/api\/v1\/nodes$/, status: 500, count: 2 });
    expect(await apiFailure(c.core.listNode())).toMatchObject({
      code: 500,
      status: { kind: "Status", status: "Failure", reason: "InternalError", message: "injected failure 500", code: 500 },
    });
    expect((await c.core.readNode({ name: "n1" })).metadata?.name).toBe("n1");
    expect((await apiFailure(c.core.listNode())).code).toBe(500);
    expect((await c.core.listNode()).items).toHaveLength(1);
  });

  it("sends Retry-After with a 429", async () => {
    c.server.failNext({ status: 429, retryAfterSeconds: 3, message: "slow down" });
    expect(await apiFailure(c.core.readNode({ name: "n1" }))).toMatchObject({
      code: 429,
      headers: { "retry-after": "3" },
      status: { reason: "TooManyRequests", message: "slow down", details: { retryAfterSeconds: 3 } },
    });
  });

  it("leaves the reason out for a status the real server has no reason for", async () => {
    c.server.failNext({ status: 502 });
    const { code, status } = await apiFailure(c.core.listNode());
    expect(code).toBe(502);
    expect(status).not.toHaveProperty("reason");
  });

  it("matches on method and on watch versus list", async () => {
    c.server.failNext({ method: "post", status: 503 });
    c.server.failNext({ watch: true, status: 504 });
    expect((await c.core.listNode()).items).toHaveLength(1);
    expect((await apiFailure(c.core.createNode({ body: { metadata: { name: "n2" } } }))).status.reason).toBe("ServiceUnavailable");
    const w = await recordWatch(c.kc, "/api/v1/nodes", {});
    expect(await w.done).toMatchObject({ statusCode: 504 });
    const healthy = await recordWatch(c.kc, "/api/v1/nodes", {});
    await eventually(() => expect(healthy.events).toHaveLength(1));
    healthy.abort();
  });

  it("refuses a fault or delay it cannot apply", () => {
    expect(() => c.server.failNext({ status: 200 })).toThrow(RangeError);
    expect(() => c.server.failNext({ status: 500, count: 0 })).toThrow("count must be a positive integer");
    expect(() => c.server.delay(-1)).toThrow(RangeError);
  });

  it("delays the requests that arrive while a delay is set", async () => {
    const order: string[] = [];
    c.server.delay(300);
    const slow = c.core.readNode({ name: "n1" }).then(() => order.push("slow"));
    await eventually(() => expect(c.server.requests()).toHaveLength(1));
    c.server.delay(0);
    await c.core.readNode({ name: "n1" }).then(() => order.push("fast"));
    await slow;
    expect(order).toEqual(["fast", "slow"]);
  });

  it("records method, path, query and user agent of every request", async () => {
    await c.core.listNode({ labelSelector: "a=b", limit: 5 });
    await c.storage.readVolumeAttachment({ name: "va" }).catch(() => undefined);
    const userAgent = expect.stringContaining("node-fetch");
    expect(c.server.requests()).toEqual([
      { method: "GET", path: "/api/v1/nodes", query: { labelSelector: "a=b", limit: "5" }, userAgent },
      { method: "GET", path: "/apis/storage.k8s.io/v1/volumeattachments/va", query: {}, userAgent },
    ]);
  });

  it("stops while a delayed request waits: the client gets an error and nothing lingers", async () => {
    c.server.delay(10_000);
    const pending = c.core.readNode({ name: "n1" });
    await eventually(() => expect(c.server.requests()).toHaveLength(1));
    await c.server.stop();
    await expect(pending).rejects.toThrow();
  });
});
