import { Writable } from "node:stream";
import { createLogger, type Logger } from "../observability/logger.js";
import { memoryLogger } from "../../test/support/memory-logger.js";
import { WatchStatusError, type WatchEvent, type WatchTransport } from "./deadline-watch.js";
import type { KubeList, KubeObject } from "./kube-objects.js";
import { RelistingInformer, keyOf, type InformerEvent } from "./relisting-informer.js";

type ConfigMap = KubeObject;

/** One watch the informer opened, which the test drives by hand. */
interface WatchCall {
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly event: (type: string, object: ConfigMap) => void;
  readonly done: (err: Error | null) => void;
  readonly controller: AbortController;
}

/** A watch transport that records each watch and lets the test send events and end it. */
class ScriptedWatch implements WatchTransport {
  readonly calls: WatchCall[] = [];

  watch(_path: string, query: Readonly<Record<string, string | undefined>>, onEvent: (event: WatchEvent) => void, done: (err: Error | null) => void): AbortController {
    const controller = new AbortController();
    this.calls.push({ query, event: (type, object) => onEvent({ type, object }), done, controller });
    return controller;
  }

  last(): WatchCall {
    const call = this.calls.at(-1);
    if (!call) throw new Error("no watch yet");
    return call;
  }
}

const silent = createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

function object(name: string, resourceVersion: string, namespace?: string): ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, resourceVersion } };
}

async function until(predicate: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Harness {
  readonly informer: RelistingInformer<ConfigMap>;
  readonly transport: ScriptedWatch;
  readonly events: string[];
  /** what the next list calls return (or throw); the last entry repeats */
  readonly lists: (KubeList<ConfigMap> | Error)[];
  listCalls: number;
}

const running: RelistingInformer<ConfigMap>[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((informer) => informer.stop()));
});

function harness(tuning: ConstructorParameters<typeof RelistingInformer>[0]["tuning"] = {}, logger: Logger = silent): Harness {
  const transport = new ScriptedWatch();
  const h: Harness = {
    transport,
    events: [],
    lists: [],
    listCalls: 0,
    informer: undefined as unknown as RelistingInformer<ConfigMap>,
  };
  const informer = new RelistingInformer<ConfigMap>({
    resource: "configmaps",
    path: "/api/v1/configmaps",
    logger,
    transport,
    tuning: { backoffInitialMs: 10, backoffMaxMs: 20, jitter: 0, ...tuning },
    list: async (signal) => {
      signal.throwIfAborted();
      const next = h.lists.length > 1 ? h.lists.shift()! : h.lists[0];
      h.listCalls++;
      if (next === undefined) throw new Error("no list scripted");
      if (next instanceof Error) throw next;
      return next;
    },
  });
  informer.onChange((event: InformerEvent<ConfigMap>) => h.events.push(`${event.type} ${keyOf(event.object)}@${event.object.metadata?.resourceVersion}`));
  running.push(informer);
  return Object.assign(h, { informer });
}

const listOf = (resourceVersion: string, ...items: ConfigMap[]): KubeList<ConfigMap> => ({ metadata: { resourceVersion }, items });

describe("RelistingInformer", () => {
  it("lists, reports synced, then watches from the list's resourceVersion and applies events", async () => {
    const h = harness();
    h.lists.push(listOf("10", object("a", "1", "ns"), object("b", "2")));
    expect(h.informer.synced).toBe(false);
    expect(h.informer.check().ok).toBe(false);
    h.informer.start();
    await h.informer.waitForSync(AbortSignal.timeout(2_000));
    expect(h.informer.synced).toBe(true);
    expect(h.informer.check()).toEqual({ ok: true });
    expect(h.informer.get("ns/a")?.metadata?.resourceVersion).toBe("1");
    expect(h.informer.get("b")).toBeDefined();
    await until(() => h.transport.calls.length === 1, "the watch");
    expect(h.transport.last().query.resourceVersion).toBe("10");

    const watch = h.transport.last();
    watch.event("ADDED", object("c", "11"));
    watch.event("MODIFIED", object("b", "12"));
    watch.event("MODIFIED", object("b", "12")); // the same version again changes nothing
    watch.event("DELETED", object("a", "13", "ns"));
    watch.event("DELETED", object("never-seen", "14"));
    expect(h.events).toEqual(["added ns/a@1", "added b@2", "added c@11", "modified b@12", "deleted ns/a@1"]);
    expect(h.informer.list().map(keyOf).sort()).toEqual(["b", "c"]);
    expect(h.informer.status().lastActivityAt).toBeDefined();
  });

  it("starts again after a watch error, and replays a DELETE it missed", async () => {
    const h = harness();
    h.lists.push(listOf("10", object("a", "1"), object("b", "2")));
    h.informer.start();
    await until(() => h.transport.calls.length === 1, "the first watch");

    // While the watch is broken, "a" is deleted; the next list no longer has it.
    h.lists.splice(0, h.lists.length, listOf("20", object("b", "2")));
    h.transport.last().done(new WatchStatusError(500, "watch /api/v1/configmaps: HTTP 500"));
    await until(() => h.transport.calls.length === 2, "the watch after the restart");
    expect(h.listCalls).toBe(2);
    expect(h.events).toEqual(["added a@1", "added b@2", "deleted a@1"]);
    expect(h.transport.last().query.resourceVersion).toBe("20");
    expect(h.informer.status().restarts).toBe(1);
    expect(h.informer.status().lastError).toBeUndefined(); // cleared by the successful list
  });

  it("relists after 410 Gone from the watch without counting it as a failure", async () => {
    const h = harness();
    h.lists.push(listOf("10", object("a", "1")));
    h.informer.start();
    await until(() => h.transport.calls.length === 1, "the watch");
    h.transport.last().event("BOOKMARK", object("", "20"));
    h.lists.splice(0, h.lists.length, listOf("30", object("a", "5")));
    h.transport.last().done(new WatchStatusError(410, "too old resource version"));
    await until(() => h.transport.calls.length === 2, "the watch after the relist");
    expect(h.transport.last().query.resourceVersion).toBe("30");
    expect(h.events).toEqual(["added a@1", "modified a@5"]);
    expect(h.informer.status().restarts).toBe(0);
  });

  it("relists at once after 410 Gone on a resumed watch, however soon it comes", async () => {
    const h = harness();
    h.lists.push(listOf("10"));
    h.informer.start();
    await until(() => h.transport.calls.length === 1, "the watch");
    h.transport.last().event("ADDED", object("a", "15"));
    h.transport.last().done(null);
    await until(() => h.transport.calls.length === 2, "the resumed watch");
    h.transport.last().done(new WatchStatusError(410, "too old resource version"));
    await until(() => h.transport.calls.length === 3, "the watch after the relist");
    expect(h.listCalls).toBe(2);
    expect(h.informer.status().restarts).toBe(0);
  });

  it("resumes the watch from the last event's resourceVersion when the server ends it cleanly", async () => {
    const h = harness();
    h.lists.push(listOf("10"));
    h.informer.start();
    await until(() => h.transport.calls.length === 1, "the watch");
    h.transport.last().event("ADDED", object("a", "15"));
    h.transport.last().done(null);
    await until(() => h.transport.calls.length === 2, "the second watch");
    expect(h.transport.last().query.resourceVersion).toBe("15");
    expect(h.listCalls).toBe(1);
  });

  it.each([
    ["the first watch after a list answers 410 Gone at once, instead of relisting in a loop", new WatchStatusError(410, "too old resource version")],
    ["a watch ends at once without any event, instead of reopening it in a loop", null],
  ])("backs off and relists when %s", async (_case, end) => {
    const h = harness();
    h.lists.push(listOf("10", object("a", "1")));
    h.informer.start();
    await until(() => h.transport.calls.length === 1, "the watch");
    h.transport.last().done(end);
    await until(() => h.transport.calls.length === 2, "the watch after the restart");
    expect(h.listCalls).toBe(2);
    expect(h.informer.status().restarts).toBe(1);
  });

  it("keeps growing the backoff while lists succeed but every watch ends at once; a healthy watch resets it", async () => {
    const log = memoryLogger();
    const h = harness({ backoffInitialMs: 5, backoffMaxMs: 1_000 }, log.logger);
    h.lists.push(listOf("10", object("a", "1")));
    h.informer.start();
    for (let n = 1; n <= 4; n++) {
      await until(() => h.transport.calls.length === n, `watch ${n}`);
      h.transport.last().done(null);
    }
    await until(() => h.transport.calls.length === 5, "watch 5");
    const delays = () => log.lines().filter((l) => l.message === "informer failed; restarting").map((l) => l.delay_ms);
    expect(delays()).toEqual([5, 10, 20, 40]);
    h.transport.last().event("ADDED", object("b", "11")); // this watch works
    h.transport.last().done(null);
    await until(() => h.transport.calls.length === 6, "the resumed watch");
    h.transport.last().done(null);
    await until(() => h.transport.calls.length === 7, "watch 7");
    expect(delays()).toEqual([5, 10, 20, 40, 5]);
  });

  it("resumes from a bookmark's resourceVersion without touching the cache", async () => {
    const h = harness();
    h.lists.push(listOf("10", object("a", "1")));
    h.informer.start();
    await until(() => h.transport.calls.length === 1, "the watch");
    h.transport.last().event("BOOKMARK", { metadata: { resourceVersion: "42" } });
    h.transport.last().done(null);
    await until(() => h.transport.calls.length === 2, "the second watch");
    expect(h.transport.last().query.resourceVersion).toBe("42");
    expect(h.events).toEqual(["added a@1"]);
    expect(h.informer.list().map(keyOf)).toEqual(["a"]);
  });

  it("keeps retrying a failing list with backoff, and tells readiness why it is not synced", async () => {
    const h = harness();
    h.lists.push(new Error("connection refused"), new Error("connection refused"), listOf("1", object("a", "1")));
    h.informer.start();
    await until(() => h.informer.status().restarts >= 1, "a failure");
    expect(h.informer.check()).toEqual({ ok: false, detail: "configmaps: not listed yet (connection refused)" });
    await h.informer.waitForSync(AbortSignal.timeout(2_000));
    expect(h.listCalls).toBe(3);
    expect(h.informer.status().restarts).toBe(2);
  });

  it("relists on its timer even when the watch looks healthy", async () => {
    const h = harness({ relistIntervalMs: 40 });
    h.lists.push(listOf("1", object("a", "1")));
    h.informer.start();
    await until(() => h.listCalls >= 3, "two periodic relists");
    // Each relist starts a new generation; the previous watch is aborted, not left running.
    expect(h.transport.calls.slice(0, -1).every((call) => call.controller.signal.aborted)).toBe(true);
  });

  it("reports a list older than the allowed age as not ready", async () => {
    const h = harness();
    h.lists.push(listOf("1"));
    h.informer.start();
    await h.informer.waitForSync(AbortSignal.timeout(2_000));
    const listedAt = h.informer.status().lastListAt!;
    expect(h.informer.check(listedAt + 1_000, 5_000)).toEqual({ ok: true });
    expect(h.informer.check(listedAt + 61_000, 5_000)).toEqual({ ok: false, detail: "configmaps: last successful list 61 s ago" });
  });

  it("waitForSync gives up with the caller's reason, and stop() releases the remaining waiters", async () => {
    const h = harness();
    h.lists.push(new Error("forbidden"));
    h.informer.start();
    const caller = new AbortController();
    const abandoned = h.informer.waitForSync(caller.signal);
    caller.abort(new Error("deadline"));
    await expect(abandoned).rejects.toThrow("deadline");
    await expect(h.informer.waitForSync(caller.signal)).rejects.toThrow("deadline");

    const waiting = h.informer.waitForSync(AbortSignal.timeout(5_000));
    await h.informer.stop();
    await expect(waiting).rejects.toThrow("the configmaps informer stopped");
    const calls = h.listCalls;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(h.listCalls).toBe(calls);
    await h.informer.stop(); // a second stop is a no-op
  });

  it("a failing handler neither stops the cache nor the other handlers; an unsubscribed one hears nothing", async () => {
    const h = harness();
    h.lists.push(listOf("1"));
    const unsubscribed: string[] = [];
    h.informer.onChange(() => {
      throw new Error("handler bug");
    });
    const off = h.informer.onChange((event) => unsubscribed.push(event.type));
    off();
    h.informer.start();
    h.informer.start(); // starting twice is a no-op
    await until(() => h.transport.calls.length === 1, "the watch");
    h.transport.last().event("ADDED", object("a", "2"));
    expect(h.events).toEqual(["added a@2"]);
    expect(h.informer.get("a")).toBeDefined();
    expect(unsubscribed).toEqual([]);
  });
});
