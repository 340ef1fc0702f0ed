import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import { FaultInjector, type InjectedFault } from "./fault-injector.js";
import { fakeKubeConfig } from "./kube-config.js";
import type { KubeObject } from "./kube-object.js";
import { ObjectStore } from "./object-store.js";
import { ResourceRegistry } from "./resource-registry.js";
import { resourceByKind, type ResourceKind } from "./resources.js";
import { apiCallOf, type ApiCall } from "./api-call.js";
import { isWatchRequest, routeApiRequest, sendJson, type RouteDeps } from "./routes.js";
import { failureStatus, isApiError } from "./status.js";
import { WatchHub } from "./watch-hub.js";

export interface FakeApiServerOptions {
  /** how many writes the watch history keeps (default 1000); older resource versions are expired */
  readonly historySize?: number;
  /** how often a watch with `allowWatchBookmarks=true` gets a BOOKMARK (default 60 s, as the real server) */
  readonly bookmarkIntervalMs?: number;
  /** namespaces that exist from the start (default: default, kube-system, kube-public, kube-node-lease, as in a new cluster) */
  readonly namespaces?: readonly string[];
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** the User-Agent header ("" when absent): which service made the call */
  readonly userAgent: string;
}

export const DEFAULT_NAMESPACES: readonly string[] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/** A running fake kube-apiserver and its test controls. */
export interface FakeApiServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** a fresh client-node KubeConfig pointing at this server */
  kubeConfig(): KubeConfig;
  /** ends the open watches, closes every connection and the listener */
  stop(): Promise<void>;
  /** ends every open watch cleanly, as a server-side timeout does; clients reconnect */
  closeWatches(): void;
  /** how many watches are open */
  openWatches(): number;
  /** drops the watch history: a watch from any resource version before now gets 410 Expired */
  compactHistory(): void;
  /** every request received so far, in order (recorded before faults and delays apply) */
  requests(): readonly RecordedRequest[];
  /**
   * Every API request received so far as RBAC sees it (verb, group, resource, subresource, namespace),
   * with the User-Agent that made it; paths that name no served resource are left out. What an RBAC
   * test compares with a ClusterRole's rules.
   */
  apiCalls(): readonly ApiCall[];
  /** makes a namespace exist: creates in any other namespace answer 404 */
  addNamespace(name: string): void;
  /** the next `count` matching requests get `status` instead of being served */
  failNext(fault: InjectedFault): void;
  /** every request that arrives from now on waits `ms` before it is served (0: no delay) */
  delay(ms: number): void;
  /**
   * Cuts the client with this User-Agent off: its requests from now on get no answer, as across a
   * network partition, until the client gives up. Other clients are served. Watches already open keep
   * streaming (end them with `closeWatches`).
   */
  partition(userAgent: string): void;
  /** Ends a partition: held requests are dropped (their connections reset), new ones are served. */
  heal(userAgent: string): void;
  /** creates or replaces an object directly (no validation, conflicts or finalizers; its namespace is made to exist), with a new resourceVersion and a watch event */
  put(kind: ResourceKind, obj: object): KubeObject;
  /** a copy of a stored object; `namespace` is "" or undefined for cluster-scoped kinds */
  get(kind: ResourceKind, namespace: string | undefined, name: string): KubeObject | undefined;
  /** copies of every stored object of `kind`, ordered by namespace and name */
  list(kind: ResourceKind): KubeObject[];
  /** deletes an object at once, whatever its finalizers, with a DELETED watch event; false when absent */
  remove(kind: ResourceKind, namespace: string | undefined, name: string): boolean;
}

/** Starts a fake kube-apiserver on 127.0.0.1 and an ephemeral port, served over plain HTTP. */
export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;
  if (!Number.isFinite(bookmarkIntervalMs) || bookmarkIntervalMs < 1) {
    throw new RangeError(`bookmarkIntervalMs must be at least 1, got ${bookmarkIntervalMs}`);
  }
  const hub = new WatchHub(options.historySize ?? 1000);
  const store = new ObjectStore((change) => hub.record(change));
  const registry = new ResourceRegistry(store, options.namespaces ?? DEFAULT_NAMESPACES);
  const deps: RouteDeps = { store, hub, registry, bookmarkIntervalMs };
  const faults = new FaultInjector();
  const log: RecordedRequest[] = [];
  const stopping = new AbortController();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://fake-apiserver");
    log.push({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), userAgent: req.headers["user-agent"] ?? "" });
    const delayMs = faults.delayMs();
    const body = await readBody(req);
    if (faults.partitioned(req.headers["user-agent"] ?? "")) return faults.hold(res);
    if (delayMs > 0) await sleep(delayMs, undefined, { signal: stopping.signal });
    const fault = faults.take(method, url.pathname, isWatchRequest(url.searchParams));
    if (fault !== undefined) {
      const retry = fault.retryAfterSeconds;
      const status = failureStatus(fault.status, fault.message ?? `injected failure ${fault.status}`, retry === undefined ? undefined : { retryAfterSeconds: retry });
      return sendJson(res, fault.status, status, retry === undefined ? {} : { "Retry-After": String(retry) });
    }
    routeApiRequest({ method, url, contentType: req.headers["content-type"] ?? "", body }, res, deps);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || stopping.signal.aborted) {
        res.destroy();
        return;
      }
      const status = isApiError(err) ? err.status : failureStatus(500, `fake apiserver bug: ${String(err)}`);
      sendJson(res, status.code, status);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    kubeConfig: () => fakeKubeConfig(url),
    stop: async () => {
      stopping.abort();
      faults.healAll();
      hub.closeAll();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
    closeWatches: () => hub.closeAll(),
    openWatches: () => hub.openCount(),
    compactHistory: () => hub.compact(store.currentRv()),
    requests: () => [...log],
    apiCalls: () => log.flatMap((request) => apiCallOf(request) ?? []),
    addNamespace: (name) => registry.addNamespace(name),
    failNext: (fault) => faults.failNext(fault),
    delay: (ms) => faults.setDelay(ms),
    partition: (userAgent) => faults.partition(userAgent),
    heal: (userAgent) => faults.heal(userAgent),
    put: (kind, obj) => {
      const def = resourceByKind(kind);
      const namespace = (obj as { metadata?: { namespace?: unknown } }).metadata?.namespace;
      if (def.namespaced && typeof namespace === "string" && namespace !== "") registry.addNamespace(namespace);
      return registry.put(def, obj);
    },
    get: (kind, namespace, name) => store.get(kind, namespace ?? "", name),
    list: (kind) => store.list(kind),
    remove: (kind, namespace, name) => registry.remove(resourceByKind(kind), namespace ?? "", name),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
