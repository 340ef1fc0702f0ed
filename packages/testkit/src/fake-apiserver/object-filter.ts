import { parseFieldSelector, type ObjectPredicate } from "./field-selector.js";
import { parseLabelSelector } from "./label-selector.js";
import type { ResourceDefinition } from "./resources.js";

export interface FilterQuery {
  /** set for a namespaced request path; undefined lists every namespace */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/** Which objects a list or watch request sees: its namespace, label selector and field selector. */
export function objectFilter(def: ResourceDefinition, query: FilterQuery): ObjectPredicate {
  const labels = parseLabelSelector(query.labelSelector ?? "");
  const fields = parseFieldSelector(query.fieldSelector ?? "", def);
  return (obj) =>
    (query.namespace === undefined || obj.metadata.namespace === query.namespace) && labels(obj.metadata.labels) && fields(obj);
}
