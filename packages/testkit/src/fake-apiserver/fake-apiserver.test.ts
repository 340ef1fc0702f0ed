import { makeInformer, type V1VolumeAttachment } from "@kubernetes/client-node";
import { startFakeApiServer } from "./fake-apiserver.js";
import type { ResourceKind } from "./resources.js";
import { eventually, startFakeCluster, type FakeCluster } from "./test-support/clients.js";
import { recordWatch } from "./test-support/watch-recorder.js";

const path = "/apis/storage.k8s.io/v1/volumeattachments";

function attachment(name: string, nodeName = "n1"): V1VolumeAttachment {
  return { metadata: { name }, spec: { attacher: "rds.csi.mikrotik.com", nodeName, source: { persistentVolumeName: `pv-${name}` } } };
}

describe("startFakeApiServer", () => {
  let c: FakeCluster;
  beforeEach(async () => {
    c = await startFakeCluster();
  });
  afterEach(async () => {
    await c.server.stop();
  });

  it("listens on 127.0.0.1 and hands out a KubeConfig for it", () => {
    expect(new URL(c.server.url).hostname).toBe("127.0.0.1");
    expect(c.server.kubeConfig().getCurrentCluster()).toMatchObject({ server: c.server.url, skipTLSVerify: true });
  });

  describe("in-process seeding", () => {
    it("puts, gets, lists and removes objects, with resourceVersions and watch events", async () => {
      const w = await recordWatch(c.kc, "/api/v1/nodes", { resourceVersion: "0" });
      const first = c.server.put("Node", { metadata: { name: "n1", namespace: "ignored", labels: {} } });
      expect(first).toMatchObject({ apiVersion: "v1", kind: "Node", metadata: { name: "n1", resourceVersion: "1" } });
      expect(first.metadata).not.toHaveProperty("namespace");
      expect(first.metadata).not.toHaveProperty("labels");
      const second = c.server.put("Node", { metadata: { name: "n1", labels: { a: "1" } } });
      expect(second.metadata).toMatchObject({ resourceVersion: "2", uid: first.metadata.uid, creationTimestamp: first.metadata.creationTimestamp });
      expect(c.server.put("Pod", { metadata: { name: "p", namespace: "ns" } }).metadata.namespace).toBe("ns");

      const copy = c.server.get("Node", undefined, "n1")!;
      copy.metadata.labels = { changed: "yes" };
      expect(c.server.get("Node", "", "n1")?.metadata.labels).toEqual({ a: "1" });
      expect(c.server.list("Node").map((n) => n.metadata.name)).toEqual(["n1"]);
      expect(c.server.list("Lease")).toEqual([]);

      expect(c.server.remove("Node", undefined, "n1")).toBe(true);
      expect(c.server.remove("Node", undefined, "n1")).toBe(false);
      await eventually(() => expect(w.events.map((e) => `${e.type} ${e.object.metadata?.resourceVersion}`)).toEqual(["ADDED 1", "MODIFIED 2", "DELETED 4"]));
      w.abort();
    });

    it("removes an object at once whatever its finalizers", () => {
      c.server.put("PersistentVolume", { metadata: { name: "pv", finalizers: ["kubernetes.io/pv-protection"] } });
      expect(c.server.remove("PersistentVolume", undefined, "pv")).toBe(true);
      expect(c.server.get("PersistentVolume", undefined, "pv")).toBeUndefined();
    });

    it("refuses objects it cannot key", () => {
      expect(() => c.server.put("Node", { metadata: {} })).toThrow("metadata.name is required");
      expect(() => c.server.put("Pod", { metadata: { name: "p" } })).toThrow("metadata.namespace is required");
      expect(() => c.server.put("Deployment" as ResourceKind, { metadata: { name: "d" } })).toThrow("unknown kind Deployment");
    });
  });

  it("refuses a history size or bookmark interval below one", async () => {
    await expect(startFakeApiServer({ historySize: 0 })).rejects.toThrow(RangeError);
    await expect(startFakeApiServer({ bookmarkIntervalMs: 0 })).rejects.toThrow("bookmarkIntervalMs must be at least 1");
  });

  it("ends open watches on stop()", async () => {
    const server = await startFakeApiServer();
    const w = await recordWatch(server.kubeConfig(), "/api/v1/nodes", {});
    await server.stop();
    expect(await w.done).toBeNull();
  });

  describe("with client-node's informer (ListWatch)", () => {
    const startInformer = async () => {
      const informer = makeInformer(c.kc, path, () => c.storage.listVolumeAttachment());
      const seen: string[] = [];
      let connects = 0;
      informer.on("add", (va) => seen.push(`add ${va.metadata?.name}`));
      informer.on("update", (va) => seen.push(`update ${va.metadata?.name}`));
      informer.on("delete", (va) => seen.push(`delete ${va.metadata?.name}`));
      informer.on("connect", () => {
        connects += 1;
      });
      informer.on("error", (err) => seen.push(`error ${String(err)}`));
      await informer.start();
      return { informer, seen, connects: () => connects };
    };
    const cached = (informer: { list(): readonly V1VolumeAttachment[] }) =>
      [...informer.list()]
        .map((va) => `${va.metadata?.name}@${va.spec.nodeName}`)
        .sort();
    const lists = () => c.server.requests().filter((r) => r.method === "GET" && r.path === path && r.query["watch"] === undefined).length;

    it("relists after a 410 Expired and converges, recovering a DELETE it never saw", async () => {
      for (const name of ["va-1", "va-2", "va-3"]) c.server.put("VolumeAttachment", attachment(name));
      const { informer, seen } = await startInformer();
      await eventually(() => expect(cached(informer)).toEqual(["va-1@n1", "va-2@n1", "va-3@n1"]));
      expect(c.server.openWatches()).toBe(1);

      // While the informer is between watches, the world moves on and the history is compacted.
      c.server.closeWatches();
      c.server.remove("VolumeAttachment", undefined, "va-1");
      c.server.put("VolumeAttachment", attachment("va-2", "n2"));
      c.server.put("VolumeAttachment", attachment("va-4"));
      c.server.compactHistory();

      await eventually(() => expect(cached(informer)).toEqual(["va-2@n2", "va-3@n1", "va-4@n1"]));
      expect(lists()).toBe(2);
      expect(seen).toEqual(expect.arrayContaining(["delete va-1", "update va-2", "add va-4"]));
      expect(seen.filter((s) => s.startsWith("error"))).toEqual([]);
      await eventually(() => expect(c.server.openWatches()).toBe(1));
      // writes 1-3 seeded, 4-6 missed: the relist is at 6 and the new watch starts there
      const watches = c.server.requests().filter((r) => r.query["watch"] === "true");
      expect(watches.map((r) => r.query["resourceVersion"])).toEqual(["3", "3", "6"]);

      await c.storage.createVolumeAttachment({ body: attachment("va-5") });
      await eventually(() => expect(cached(informer)).toContain("va-5@n1"));
      await informer.stop();
    });

    it("reconnects from its resourceVersion after closeWatches(), without relisting", async () => {
      c.server.put("VolumeAttachment", attachment("va-1"));
      const { informer, connects } = await startInformer();
      expect(connects()).toBe(1);
      c.server.closeWatches();
      await eventually(() => expect(connects()).toBe(2));
      await eventually(() => expect(c.server.openWatches()).toBe(1));
      await c.storage.createVolumeAttachment({ body: attachment("va-2") });
      await c.storage.deleteVolumeAttachment({ name: "va-1" });
      await eventually(() => expect(cached(informer)).toEqual(["va-2@n1"]));
      expect(lists()).toBe(1);
      await informer.stop();
    });
  });
});
