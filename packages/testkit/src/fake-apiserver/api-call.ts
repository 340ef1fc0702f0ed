import { parseRequestTarget } from "./request-target.js";
import { isWatchRequest } from "./routes.js";
import { isApiError } from "./status.js";

/** One API request in RBAC's terms (a PolicyRule's verbs, apiGroups, resources), and who made it. */
export interface ApiCall {
  /** the User-Agent header ("" when absent) */
  readonly userAgent: string;
  readonly verb: "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";
  /** "" for the core group */
  readonly group: string;
  /** plural, e.g. `volumeattachments` */
  readonly resource: string;
  readonly subresource?: string;
  /** absent for cluster-scoped kinds and requests across all namespaces */
  readonly namespace?: string;
  readonly name?: string;
}

/**
 * The RBAC attributes of a request, as apiserver's RequestInfoFactory derives them
 * (staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go): GET of a collection is `list`,
 * or `watch` with `watch=true`; DELETE of a collection is `deletecollection`. Undefined for a path that
 * names no resource the fake serves.
 */
export function apiCallOf(request: { readonly method: string; readonly path: string; readonly query: Readonly<Record<string, string>>; readonly userAgent: string }): ApiCall | undefined {
  let target;
  try {
    target = parseRequestTarget(request.path);
  } catch (err) {
    if (isApiError(err)) return undefined;
    throw err;
  }
  const collection = target.name === undefined;
  const verbs: Record<string, ApiCall["verb"]> = {
    GET: collection ? (isWatchRequest(new URLSearchParams(request.query)) ? "watch" : "list") : "get",
    POST: "create",
    PUT: "update",
    PATCH: "patch",
    DELETE: collection ? "deletecollection" : "delete",
  };
  const verb = verbs[request.method];
  if (verb === undefined) return undefined;
  return {
    userAgent: request.userAgent,
    verb,
    group: target.def.group,
    resource: target.def.plural,
    ...(target.subresource === undefined ? {} : { subresource: target.subresource }),
    ...(target.namespace === undefined ? {} : { namespace: target.namespace }),
    ...(target.name === undefined ? {} : { name: target.name }),
  };
}
