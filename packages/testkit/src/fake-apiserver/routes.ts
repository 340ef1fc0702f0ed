import type { ServerResponse } from "node:http";
import type { KubeObject } from "./kube-object.js";
import { objectFilter } from "./object-filter.js";
import { paginate } from "./pagination.js";
import type { ResourceRegistry } from "./resource-registry.js";
import { parseRequestTarget, type RequestTarget } from "./request-target.js";
import { apiVersionOf } from "./resources.js";
import { badRequest, methodNotAllowed } from "./status.js";
import { serveWatch, type WatchDeps } from "./watch-stream.js";

/** One API request with its body read. */
export interface ApiRequest {
  readonly method: string;
  readonly url: URL;
  readonly contentType: string;
  readonly body: string;
}

export interface RouteDeps extends WatchDeps {
  readonly registry: ResourceRegistry;
}

export function isWatchRequest(query: URLSearchParams): boolean {
  const watch = query.get("watch");
  return watch === "true" || watch === "1";
}

/** Dispatches a request to list, watch, get, create, update, patch or delete; errors are thrown as `ApiError`. */
export function routeApiRequest(request: ApiRequest, res: ServerResponse, deps: RouteDeps): void {
  const target = parseRequestTarget(request.url.pathname);
  const { def, name, subresource } = target;
  const namespace = target.namespace ?? "";
  const { method } = request;
  if (name === undefined) {
    if (method === "GET") return listOrWatch(target, request.url.searchParams, res, deps);
    if (method === "POST" && (target.namespace !== undefined || !def.namespaced)) {
      return sendJson(res, 201, deps.registry.create(def, namespace, parseBody(request.body)));
    }
    throw methodNotAllowed(method);
  }
  switch (method) {
    case "GET":
      return sendJson(res, 200, deps.registry.get(def, namespace, name));
    case "PUT":
      return sendJson(res, 200, deps.registry.update(def, namespace, name, parseBody(request.body), subresource));
    case "PATCH":
      return sendJson(res, 200, deps.registry.patch(def, namespace, name, request.contentType, parseBody(request.body), subresource));
    case "DELETE":
      if (subresource === undefined) return sendJson(res, 200, deps.registry.delete(def, namespace, name, parseBody(request.body)));
  }
  throw methodNotAllowed(method);
}

function listOrWatch(target: RequestTarget, query: URLSearchParams, res: ServerResponse, deps: RouteDeps): void {
  const { def } = target;
  const filter = objectFilter(def, {
    ...(target.namespace === undefined ? {} : { namespace: target.namespace }),
    ...optional("labelSelector", query.get("labelSelector")),
    ...optional("fieldSelector", query.get("fieldSelector")),
  });
  if (isWatchRequest(query)) {
    const rv = query.get("resourceVersion") ?? "";
    return serveWatch(
      res,
      {
        def,
        filter,
        ...(rv === "" || rv === "0" ? {} : { sinceRv: integerParam("resourceVersion", rv) }),
        timeoutSeconds: integerParam("timeoutSeconds", query.get("timeoutSeconds") ?? "0"),
        bookmarks: query.get("allowWatchBookmarks") === "true",
      },
      deps,
    );
  }
  const page = paginate(deps.store.list(def.kind).filter(filter), {
    limit: integerParam("limit", query.get("limit") ?? "0"),
    ...optional("continueToken", query.get("continue")),
    currentRv: deps.store.currentRv(),
    oldestRv: deps.hub.oldestRv(),
  });
  sendJson(res, 200, {
    apiVersion: apiVersionOf(def),
    kind: `${def.kind}List`,
    metadata: {
      resourceVersion: String(page.resourceVersion),
      ...optional("continue", page.continueToken),
      ...optional("remainingItemCount", page.remainingItemCount),
    },
    items: page.items.map(withoutTypeMeta),
  });
}

/** List items carry no apiVersion/kind on the wire; the list does. */
function withoutTypeMeta(obj: KubeObject): KubeObject {
  const item = { ...obj };
  delete item.apiVersion;
  delete item.kind;
  return item;
}

function optional<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return value === null || value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

function integerParam(name: string, text: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(text)) throw badRequest(`invalid ${name}: ${JSON.stringify(text)}`);
  return Number(text);
}

function parseBody(body: string): unknown {
  if (body.trim() === "") return undefined;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw badRequest("the request body is not valid JSON");
  }
}

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}
