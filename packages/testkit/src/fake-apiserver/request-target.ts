import { resourceByPath, type ResourceDefinition } from "./resources.js";
import { routeNotFound } from "./status.js";

/** What a request path names: a collection, or one object and maybe its status subresource. */
export interface RequestTarget {
  readonly def: ResourceDefinition;
  /** undefined: a cluster-scoped kind, or a namespaced kind across all namespaces */
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: "status";
}

/**
 * Parses `/api/v1/[namespaces/{ns}/]{plural}[/{name}[/status]]` and
 * `/apis/{group}/{version}/[namespaces/{ns}/]{plural}[/{name}[/status]]`; anything else is a 404.
 */
export function parseRequestTarget(pathname: string): RequestTarget {
  const segments = pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
  let rest: string[];
  let group: string;
  let version: string;
  if (segments[0] === "api" && segments.length >= 2) {
    [group, version, rest] = ["", segments[1]!, segments.slice(2)];
  } else if (segments[0] === "apis" && segments.length >= 3) {
    [group, version, rest] = [segments[1]!, segments[2]!, segments.slice(3)];
  } else {
    throw routeNotFound();
  }
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  const def = plural === undefined ? undefined : resourceByPath(group, version, plural);
  if (def === undefined || extra.length > 0) throw routeNotFound();
  if (def.namespaced ? name !== undefined && namespace === undefined : namespace !== undefined) throw routeNotFound();
  if (subresource !== undefined && !(subresource === "status" && def.statusSubresource)) throw routeNotFound();
  return {
    def,
    ...(namespace === undefined ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
    ...(subresource === undefined ? {} : { subresource }),
  };
}
