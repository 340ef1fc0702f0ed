import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { eventually, startFakeCluster, type FakeCluster } from "./test-support/clients.js";
import { recordWatch, summary } from "./test-support/watch-recorder.js";

const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

describe("watch over HTTP with client-node's Watch", () => {
  let c: FakeCluster;
  afterEach(async () => {
    await c.server.stop();
  });

  describe("with the default history", () => {
    beforeEach(async () => {
      c = await startFakeCluster({ bookmarkIntervalMs: 20 });
    });

    it("replays the changes after a resourceVersion, then streams live ones", async () => {
      const p1 = await c.core.createNamespacedPod({ namespace: "ns", body: { metadata: { name: "p1" } } });
      await c.core.createNamespacedPod({ namespace: "ns", body: { metadata: { name: "p2" } } });
      await c.core.patchNamespacedPod({ name: "p1", namespace: "ns", body: { metadata: { labels: { a: "1" } } } }, merge);
      await c.core.deleteNamespacedPod({ name: "p2", namespace: "ns" });
      await c.core.createNamespacedPod({ namespace: "elsewhere", body: { metadata: { name: "p9" } } });

      const w = await recordWatch(c.kc, "/api/v1/namespaces/ns/pods", { resourceVersion: p1.metadata!.resourceVersion! });
      await eventually(() => expect(summary(w.events)).toEqual(["ADDED p2", "MODIFIED p1", "DELETED p2"]));
      expect(w.events.map((e) => e.object.metadata?.resourceVersion)).toEqual(["2", "3", "4"]);
      expect(w.events[0]?.object).toMatchObject({ apiVersion: "v1", kind: "Pod" });

      await c.core.createNamespacedPod({ namespace: "ns", body: { metadata: { name: "p3" } } });
      await eventually(() => expect(summary(w.events).at(-1)).toBe("ADDED p3"));
      w.abort();
      await w.done;
    });

    it("starts with the current objects as ADDED when no resourceVersion is given", async () => {
      c.server.put("Node", { metadata: { name: "n1" } });
      c.server.put("Node", { metadata: { name: "n2" } });
      const w = await recordWatch(c.kc, "/api/v1/nodes", {});
      await eventually(() => expect(summary(w.events)).toEqual(["ADDED n1", "ADDED n2"]));
      c.server.put("Node", { metadata: { name: "n1", labels: { x: "y" } } });
      await eventually(() => expect(summary(w.events)).toEqual(["ADDED n1", "ADDED n2", "MODIFIED n1"]));
      w.abort();
    });

    it("sends ADDED when an object starts matching the selector and DELETED when it stops", async () => {
      c.server.put("Pod", { metadata: { name: "before", namespace: "ns", labels: { app: "web" } } });
      const w = await recordWatch(c.kc, "/api/v1/pods", { resourceVersion: "0", labelSelector: "app=db" });
      c.server.put("Pod", { metadata: { name: "other", namespace: "ns", labels: { app: "web" } } });
      c.server.put("Pod", { metadata: { name: "p", namespace: "ns", labels: { app: "db" } } });
      c.server.put("Pod", { metadata: { name: "other", namespace: "ns", labels: { app: "cache" } } });
      c.server.put("Pod", { metadata: { name: "p", namespace: "ns", labels: { app: "web" } } });
      c.server.put("Pod", { metadata: { name: "p", namespace: "ns", labels: { app: "db", v: "2" } } });
      c.server.put("Pod", { metadata: { name: "p", namespace: "ns", labels: { app: "db", v: "3" } } });
      c.server.remove("Pod", "ns", "other");
      c.server.remove("Pod", "ns", "p");
      await eventually(() => expect(summary(w.events)).toEqual(["ADDED p", "DELETED p", "ADDED p", "MODIFIED p", "DELETED p"]));
      w.abort();
    });

    it("filters Pods by spec.nodeName", async () => {
      const w = await recordWatch(c.kc, "/api/v1/pods", { fieldSelector: "spec.nodeName=n2" });
      for (const [name, nodeName] of [["p-1", "n1"], ["p-2", "n2"]]) {
        await c.core.createNamespacedPod({ namespace: "ns", body: { metadata: { name }, spec: { nodeName: nodeName!, containers: [] } } });
      }
      await eventually(() => expect(summary(w.events)).toEqual(["ADDED p-2"]));
      w.abort();
    });

    it("shows a finalized deletion as MODIFIED (deletionTimestamp set), then DELETED once the finalizers are gone", async () => {
      const created = await c.core.createPersistentVolume({ body: { metadata: { name: "pv-1", finalizers: ["kubernetes.io/pv-protection"] } } });
      const w = await recordWatch(c.kc, "/api/v1/persistentvolumes", { resourceVersion: created.metadata!.resourceVersion! });
      await c.core.deletePersistentVolume({ name: "pv-1" });
      await c.core.patchPersistentVolume({ name: "pv-1", body: { metadata: { finalizers: [] } } }, merge);
      await eventually(() => expect(summary(w.events)).toEqual(["MODIFIED pv-1", "DELETED pv-1"]));
      expect(w.events[0]?.object.metadata?.deletionTimestamp).toEqual(expect.any(String));
      expect(w.events[1]?.object.metadata).toMatchObject({ resourceVersion: "3", deletionTimestamp: w.events[0]?.object.metadata?.deletionTimestamp });
      w.abort();
    });

    it("answers a resourceVersion older than the compacted history with a 410 Expired ERROR event, then ends", async () => {
      const old = c.server.put("Lease", { metadata: { name: "l", namespace: "ns" } });
      c.server.put("Lease", { metadata: { name: "l", namespace: "ns", labels: { renewed: "1" } } });
      c.server.compactHistory();
      const w = await recordWatch(c.kc, "/apis/coordination.k8s.io/v1/namespaces/ns/leases", { resourceVersion: old.metadata.resourceVersion! });
      expect(await w.done).toBeNull();
      expect(w.events).toEqual([
        {
          type: "ERROR",
          object: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "too old resource version: 1 (2)", reason: "Expired", code: 410 },
        },
      ]);
      expect(c.server.openWatches()).toBe(0);

      const fresh = await recordWatch(c.kc, "/apis/coordination.k8s.io/v1/namespaces/ns/leases", { resourceVersion: "2" });
      expect(c.server.openWatches()).toBe(1);
      c.server.put("Lease", { metadata: { name: "l", namespace: "ns", labels: { renewed: "2" } } });
      await eventually(() => expect(summary(fresh.events)).toEqual(["MODIFIED l"]));
      fresh.abort();
      await eventually(() => expect(c.server.openWatches()).toBe(0));
    });

    it("ends a watch after timeoutSeconds", async () => {
      const w = await recordWatch(c.kc, "/api/v1/nodes", { timeoutSeconds: 1 });
      expect(c.server.openWatches()).toBe(1);
      expect(await w.done).toBeNull();
      expect(c.server.openWatches()).toBe(0);
    });

    it("ends every open watch on closeWatches()", async () => {
      const a = await recordWatch(c.kc, "/api/v1/nodes", {});
      const b = await recordWatch(c.kc, "/apis/storage.k8s.io/v1/csinodes", {});
      expect(c.server.openWatches()).toBe(2);
      c.server.closeWatches();
      expect(await a.done).toBeNull();
      expect(await b.done).toBeNull();
      expect(c.server.openWatches()).toBe(0);
    });

    it("sends BOOKMARK events carrying the current resourceVersion when asked to", async () => {
      c.server.put("Node", { metadata: { name: "n1" } });
      const w = await recordWatch(c.kc, "/api/v1/nodes", { resourceVersion: "1", allowWatchBookmarks: true, watch: 1 });
      await eventually(() => expect(w.events.some((e) => e.type === "BOOKMARK")).toBe(true));
      expect(w.events.find((e) => e.type === "BOOKMARK")?.object).toEqual({ apiVersion: "v1", kind: "Node", metadata: { resourceVersion: "1" } });
      w.abort();
    });
  });

  it("expires resource versions that fell out of a bounded history", async () => {
    c = await startFakeCluster({ historySize: 3 });
    for (let i = 1; i <= 5; i += 1) c.server.put("CSINode", { metadata: { name: `n${i}` }, spec: { drivers: [] } });
    const expiredWatch = await recordWatch(c.kc, "/apis/storage.k8s.io/v1/csinodes", { resourceVersion: "1" });
    await expiredWatch.done;
    expect(expiredWatch.events.map((e) => e.object["code"])).toEqual([410]);
    const oldest = await recordWatch(c.kc, "/apis/storage.k8s.io/v1/csinodes", { resourceVersion: "2" });
    await eventually(() => expect(summary(oldest.events)).toEqual(["ADDED n3", "ADDED n4", "ADDED n5"]));
    oldest.abort();
  });
});
