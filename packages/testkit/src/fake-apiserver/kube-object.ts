import { isJsonObject } from "./json-value.js";
import { badRequest } from "./status.js";

/** Object metadata in its wire form (timestamps are RFC 3339 strings). */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [field: string]: unknown;
}

/** A Kubernetes object in its wire form, as the fake stores and serves it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

const stringFields = ["name", "generateName", "namespace", "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp"] as const;
const stringMaps = ["labels", "annotations"] as const;

/**
 * Checks that a decoded body is an object whose metadata fields the fake relies on have their wire
 * types; anything else is a 400, as the real server's decoder would answer.
 */
export function decodeKubeObject(value: unknown): KubeObject {
  if (!isJsonObject(value)) throw badRequest("the body must be a JSON object");
  const metadata = value["metadata"] ?? {};
  if (!isJsonObject(metadata)) throw badRequest("metadata must be an object");
  for (const field of stringFields) {
    if (metadata[field] !== undefined && typeof metadata[field] !== "string") throw badRequest(`metadata.${field} must be a string`);
  }
  for (const field of stringMaps) {
    const map = metadata[field];
    if (map !== undefined && !(isJsonObject(map) && Object.values(map).every((v) => typeof v === "string"))) {
      throw badRequest(`metadata.${field} must be a map of strings`);
    }
  }
  const finalizers = metadata["finalizers"];
  if (finalizers !== undefined && !(Array.isArray(finalizers) && finalizers.every((f) => typeof f === "string"))) {
    throw badRequest("metadata.finalizers must be a list of strings");
  }
  return { ...value, metadata: metadata as ObjectMeta };
}

/** The store key of an object: `namespace/name`, with an empty namespace for cluster-scoped kinds. */
export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function keyOf(obj: KubeObject): string {
  return objectKey(obj.metadata.namespace ?? "", obj.metadata.name ?? "");
}

/** Go's `omitempty`: empty labels, annotations and finalizers are not stored. */
export function dropEmptyMetadata(meta: ObjectMeta): void {
  if (meta.finalizers?.length === 0) delete meta.finalizers;
  if (meta.labels !== undefined && Object.keys(meta.labels).length === 0) delete meta.labels;
  if (meta.annotations !== undefined && Object.keys(meta.annotations).length === 0) delete meta.annotations;
}

/** RFC 3339 with second precision, as `metav1.Time` is written. */
export function timestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}
