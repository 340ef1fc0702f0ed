import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HOST_NQN_ANNOTATION, type PublishHostNqnOptions } from "@rds-csi/core/k8s";
import { PassThrough } from "node:stream";
import { createLogger } from "@rds-csi/core";
import { startFakeApiServer, startServiceProcess, type FakeApiServer } from "@rds-csi/testkit";
import { HostNqnPublisher } from "../src/host-nqn-publisher.js";

const HOST_NQN = "nqn.2014-08.org.nvmexpress:uuid:0f3c5f4e-7a43-4f55-9a43-1b2c3d4e5f60";

describe("HostNqnPublisher", () => {
  const options = (publish: (o: PublishHostNqnOptions) => Promise<boolean>) => ({
    source: { kind: "in-cluster" as const },
    nodeName: "node-a",
    hostNqn: HOST_NQN,
    logger: createLogger({ level: "error", component: "test", stream: new PassThrough().resume() }),
    publish,
    firstRetryMs: 5,
    maxRetryMs: 20,
  });

  it("retries until the annotation lands, then stops trying", async () => {
    const calls: PublishHostNqnOptions[] = [];
    const publisher = new HostNqnPublisher(options(async (o) => (calls.push(o), calls.length === 3)));
    await expect(publisher.done).resolves.toBe(true);
    expect(calls.map((c) => [c.nodeName, c.hostNqn])).toEqual(Array(3).fill(["node-a", HOST_NQN]));
    await publisher.stop();
    expect(calls).toHaveLength(3);
  });

  it("an attempt that outlives its deadline is retried; stop() ends the retries", async () => {
    let calls = 0;
    const publisher = new HostNqnPublisher({
      ...options((o) => {
        calls++;
        return new Promise((_resolve, reject) => o.signal.addEventListener("abort", () => reject(o.signal.reason)));
      }),
      attemptTimeoutMs: 10,
    });
    while (calls < 2) await new Promise((r) => setTimeout(r, 5));
    await publisher.stop();
    await expect(publisher.done).resolves.toBe(false);
    const after = calls;
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(after);
  });
});

describe("rds-csi-node puts its host NQN on its Node (process + fake API server)", () => {
  let dir: string;
  let api: FakeApiServer;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "rds-csi-node-annotate-"));
    api = await startFakeApiServer();
  });
  afterEach(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("annotates the Node named by NODE_ID with the host NQN it read from <etc-dir>/nvme", async () => {
    api.put("Node", { apiVersion: "v1", kind: "Node", metadata: { name: "node-a", annotations: { kept: "yes" } } });
    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(kubeconfig, api.kubeConfig().exportConfig());
    const node = await startServiceProcess(fileURLToPath(new URL("../../dist/main.js", import.meta.url)), `unix://${join(dir, "csi.sock")}`, ["--metrics-address", "127.0.0.1:0"], {
      NODE_ID: "node-a",
      ETC_DIR: dir,
      KUBELET_DIR: dir,
      KUBECONFIG: kubeconfig,
    });
    try {
      const hostNqn = (await readFile(join(dir, "nvme", "hostnqn"), "utf8")).trim();
      let annotations: Record<string, string> | undefined;
      for (let i = 0; i < 100 && annotations?.[HOST_NQN_ANNOTATION] === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        annotations = api.get("Node", undefined, "node-a")?.metadata?.annotations as Record<string, string> | undefined;
      }
      expect(annotations).toEqual({ kept: "yes", [HOST_NQN_ANNOTATION]: hostNqn });
    } finally {
      expect(await node.stop()).toBe(0);
    }
  }, 30_000);
});
