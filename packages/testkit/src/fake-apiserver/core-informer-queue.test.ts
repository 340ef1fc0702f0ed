import { setTimeout as sleep } from "node:timers/promises";
import { Writable } from "node:stream";
import { createLogger } from "@rds-csi/core";
import { keyOf, RelistingInformer, runWorkers, WorkQueue, type KubeNode } from "@rds-csi/core/k8s";
import { fakeKubeEachTest } from "./fake-kube-each-test.js";

/**
 * The informer must not lose work (issue 11): a handler that throws is never replayed (the cache is
 * written first and a relist skips an unchanged resourceVersion), so handlers enqueue keys and workers
 * retry failures. Both halves over HTTP against the fake API server.
 */
describe("informer + work queue against the fake API server", () => {
  const kube = fakeKubeEachTest();
  const logger = createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, callback) => callback() }) });
  const informerOf = () =>
    RelistingInformer.overApi<KubeNode>(kube.client, { resource: "nodes", path: "/api/v1/nodes", logger, tuning: { relistIntervalMs: 100, backoffInitialMs: 10 } });

  it("a throwing handler's work is lost, even across relists (why handlers only enqueue)", async () => {
    const informer = informerOf();
    const seen: string[] = [];
    informer.onChange((event) => {
      seen.push(keyOf(event.object));
      throw new Error("the handler's API call failed");
    });
    informer.start();
    try {
      await informer.waitForSync(AbortSignal.timeout(5_000));
      kube.api.put("Node", { metadata: { name: "n1" } });
      while (seen.length === 0) await sleep(10);
      await sleep(400); // several relists
      expect(seen).toEqual(["n1"]);
    } finally {
      await informer.stop();
    }
  });

  it("a key whose reconcile fails is retried by the queue until it succeeds, with no new event", async () => {
    const informer = informerOf();
    const queue = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 50 });
    informer.onChange((event) => queue.add(keyOf(event.object)));
    const attempts: string[] = [];
    const done = new Set<string>();
    const stop = new AbortController();
    informer.start();
    const workers = runWorkers(
      queue,
      {
        name: "nodes",
        workers: 2,
        logger,
        handle: async (key) => {
          attempts.push(key);
          if (informer.get(key) === undefined) return;
          if (attempts.filter((k) => k === key).length < 3) throw new Error("the API server said no");
          done.add(key);
        },
      },
      stop.signal,
    );
    try {
      await informer.waitForSync(AbortSignal.timeout(5_000));
      kube.api.put("Node", { metadata: { name: "n1" } });
      const deadline = Date.now() + 5_000;
      while (!done.has("n1") && Date.now() < deadline) await sleep(10);
      expect(done.has("n1")).toBe(true);
      expect(attempts).toEqual(["n1", "n1", "n1"]);
    } finally {
      stop.abort();
      await workers;
      await informer.stop();
    }
  });
});
