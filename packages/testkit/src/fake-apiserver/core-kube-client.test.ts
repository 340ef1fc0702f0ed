import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createLogger, NotFoundError } from "@rds-csi/core";
import {
  annotateNode,
  HOST_NQN_ANNOTATION,
  hostNqnOf,
  publishHostNqn,
  RelistingInformer,
  type KubeNode,
  type PersistentVolume,
} from "@rds-csi/core/k8s";
import { fakeKubeEachTest } from "./fake-kube-each-test.js";
import { fakeKubeConfig } from "./kube-config.js";

const HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427";

/** The services' own client (core/k8s) against the fake API server, over the same HTTP as client-node's tests. */
describe("core/k8s KubeClient against the fake API server", () => {
  const kube = fakeKubeEachTest();
  let dir: string;
  const logged: string[] = [];
  const logger = createLogger({
    level: "info",
    component: "test",
    stream: new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        logged.push(chunk.toString("utf8"));
        callback();
      },
    }),
  });
  const signal = (): AbortSignal => AbortSignal.timeout(5_000);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "core-kube-client-"));
    logged.length = 0;
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("annotateNode merges one annotation into the Node and keeps the others", async () => {
    kube.api.put("Node", { apiVersion: "v1", kind: "Node", metadata: { name: "n1", annotations: { "keep.example/me": "yes" } } });
    const patched = await annotateNode(kube.client, "n1", HOST_NQN_ANNOTATION, HOST_NQN, signal());
    expect(hostNqnOf(patched)).toBe(HOST_NQN);
    expect(kube.api.get("Node", undefined, "n1")?.metadata.annotations).toEqual({ "keep.example/me": "yes", [HOST_NQN_ANNOTATION]: HOST_NQN });
    expect(kube.api.requests().at(-1)).toMatchObject({ method: "PATCH", path: "/api/v1/nodes/n1" });

    await expect(annotateNode(kube.client, "gone", HOST_NQN_ANNOTATION, HOST_NQN, signal())).rejects.toBeInstanceOf(NotFoundError);
  });

  it("publishHostNqn writes the annotation through a kubeconfig file (as client-node exports one)", async () => {
    kube.api.put("Node", { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } });
    const path = join(dir, "kubeconfig");
    await writeFile(path, fakeKubeConfig(kube.api.url).exportConfig());
    await expect(publishHostNqn({ source: { kind: "file", path }, nodeName: "n1", hostNqn: HOST_NQN, logger, signal: signal() })).resolves.toBe(true);
    expect(hostNqnOf(await kube.client.get<KubeNode>("read Node n1", "/api/v1/nodes/n1", signal()))).toBe(HOST_NQN);
    expect(logged.join("")).toContain("published the host NQN on the Node");
  });

  it("publishHostNqn runs on without API access or when the Node is missing, and says what that costs", async () => {
    const noAccess = await publishHostNqn({ source: { kind: "file", path: join(dir, "absent") }, nodeName: "n1", hostNqn: HOST_NQN, logger, signal: signal() });
    expect(noAccess).toBe(false);
    expect(logged.join("")).toContain("no Kubernetes API access; the controller cannot grant this node's host NQN");

    const path = join(dir, "kubeconfig");
    await writeFile(path, fakeKubeConfig(kube.api.url).exportConfig());
    logged.length = 0;
    expect(await publishHostNqn({ source: { kind: "file", path }, nodeName: "n1", hostNqn: HOST_NQN, logger, signal: signal() })).toBe(false);
    expect(logged.join("")).toContain("cannot annotate the Node");
    expect(logged.join("")).toContain("HTTP 404");

    const caller = new AbortController();
    caller.abort(new Error("shutting down"));
    await expect(publishHostNqn({ source: { kind: "file", path }, nodeName: "n1", hostNqn: HOST_NQN, logger, signal: caller.signal })).rejects.toThrow("shutting down");
  });

  it("lists more than a page, and starts over when the continue token expired", async () => {
    for (let i = 0; i < 501; i++) kube.api.put("PersistentVolume", { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: `pv-${String(i).padStart(3, "0")}` } });
    const list = await kube.client.list<PersistentVolume>("list PersistentVolumes", "/api/v1/persistentvolumes", signal());
    expect(list.items).toHaveLength(501);
    expect(kube.api.requests().filter((request) => request.path === "/api/v1/persistentvolumes")).toHaveLength(2);

    // A write and a compaction while the second page waits: its continue token is 410 Gone, and the
    // list is fetched again in one piece.
    const pageRequests = (): number => kube.api.requests().filter((request) => request.path === "/api/v1/persistentvolumes").length;
    kube.api.delay(200);
    const relisted = kube.client.list<PersistentVolume>("list PersistentVolumes", "/api/v1/persistentvolumes", signal());
    while (pageRequests() < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    kube.api.put("PersistentVolume", { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "pv-new" } });
    kube.api.compactHistory();
    expect((await relisted).items).toHaveLength(502);
    expect(kube.api.requests().filter((request) => request.path === "/api/v1/persistentvolumes").map((request) => request.query["continue"] !== undefined)).toEqual([
      false,
      true,
      false,
      true,
      false,
    ]);
  });

  it("an informer over the API lists, follows the watch and sees a deletion", async () => {
    kube.api.put("PersistentVolume", { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "a" } });
    const informer = RelistingInformer.overApi<PersistentVolume>(kube.client, { resource: "persistentvolumes", path: "/api/v1/persistentvolumes", logger });
    informer.start();
    try {
      await informer.waitForSync(signal());
      expect(informer.get("a")).toBeDefined();
      kube.api.put("PersistentVolume", { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "b" } });
      kube.api.remove("PersistentVolume", undefined, "a");
      const deadline = Date.now() + 5_000;
      while (informer.get("a") !== undefined || informer.get("b") === undefined) {
        if (Date.now() > deadline) throw new Error("the informer did not follow the watch");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await informer.stop();
    }
  });
});
