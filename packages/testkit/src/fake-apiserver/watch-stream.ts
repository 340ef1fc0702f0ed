import type { ServerResponse } from "node:http";
import type { ObjectPredicate } from "./field-selector.js";
import type { KubeObject } from "./kube-object.js";
import type { ObjectStore, StoredChange } from "./object-store.js";
import { apiVersionOf, type ResourceDefinition } from "./resources.js";
import { failureStatus, type KubeStatus } from "./status.js";
import type { WatchHub, WatchSubscriber } from "./watch-hub.js";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent {
  readonly type: WatchEventType;
  readonly object: KubeObject | KubeStatus;
}

export interface WatchRequest {
  readonly def: ResourceDefinition;
  readonly filter: ObjectPredicate;
  /** undefined (no `resourceVersion`, or "0"): the current objects are sent as ADDED first */
  readonly sinceRv?: number;
  /** 0 or undefined: no server-side timeout */
  readonly timeoutSeconds?: number;
  readonly bookmarks: boolean;
}

export interface WatchDeps {
  readonly store: ObjectStore;
  readonly hub: WatchHub;
  readonly bookmarkIntervalMs: number;
}

/**
 * What a filtered watch sees of a change. An object that starts matching the watch's selectors
 * arrives as ADDED, one that stops matching as DELETED, as the real server's watch cache sends them.
 */
export function watchEventFor(change: StoredChange, filter: ObjectPredicate): WatchEvent | undefined {
  const matches = filter(change.object);
  if (change.type !== "MODIFIED") return matches ? { type: change.type, object: change.object } : undefined;
  const matched = change.previous !== undefined && filter(change.previous);
  if (matches) return { type: matched ? "MODIFIED" : "ADDED", object: change.object };
  return matched ? { type: "DELETED", object: change.object } : undefined;
}

/**
 * Streams a watch as newline-delimited JSON events over a chunked 200 response: replay after the
 * requested resource version, then live events, until the timeout, `closeWatches()` or the client
 * goes. A resource version older than the retained history gets one ERROR event carrying a 410
 * `Expired` Status, then the stream ends, as the real server does.
 */
export function serveWatch(res: ServerResponse, request: WatchRequest, deps: WatchDeps): void {
  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
  res.flushHeaders();
  const send = (event: WatchEvent): void => {
    res.write(`${JSON.stringify(event)}\n`);
  };
  const timers: NodeJS.Timeout[] = [];
  let ended = false;
  const subscriber: WatchSubscriber = {
    kind: request.def.kind,
    deliver: (change) => {
      const event = watchEventFor(change, request.filter);
      if (event !== undefined) send(event);
    },
    end: () => finish(),
  };
  const finish = (): void => {
    if (ended) return;
    ended = true;
    for (const timer of timers) clearTimeout(timer);
    deps.hub.unsubscribe(subscriber);
    res.end();
  };

  if (request.sinceRv === undefined) {
    for (const obj of deps.store.list(request.def.kind)) if (request.filter(obj)) send({ type: "ADDED", object: obj });
  }
  const sinceRv = request.sinceRv ?? deps.store.currentRv();
  if (deps.hub.subscribe(subscriber, sinceRv) === "expired") {
    send({ type: "ERROR", object: failureStatus(410, `too old resource version: ${sinceRv} (${deps.hub.oldestRv()})`) });
    finish();
    return;
  }
  res.on("close", finish);
  if (request.timeoutSeconds) timers.push(setTimeout(finish, request.timeoutSeconds * 1000));
  if (request.bookmarks) {
    timers.push(
      setInterval(() => {
        const bookmark = { apiVersion: apiVersionOf(request.def), kind: request.def.kind, metadata: { resourceVersion: String(deps.store.currentRv()) } };
        send({ type: "BOOKMARK", object: bookmark });
      }, deps.bookmarkIntervalMs),
    );
  }
}
