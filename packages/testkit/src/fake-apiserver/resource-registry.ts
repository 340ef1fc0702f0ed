import { randomUUID } from "node:crypto";
import { applyJsonPatch } from "./json-patch.js";
import { isJsonObject, jsonEqual } from "./json-value.js";
import { decodeKubeObject, dropEmptyMetadata, timestamp, type KubeObject } from "./kube-object.js";
import { applyMergePatch } from "./merge-patch.js";
import type { ObjectStore } from "./object-store.js";
import { apiVersionOf, type ResourceDefinition } from "./resources.js";
import { checkMicroTimes } from "./micro-time.js";
import {
  alreadyExists,
  badRequest,
  conflict,
  deletedStatus,
  invalid,
  namespaceNotFound,
  notFound,
  staleResourceVersion,
  unconditionalUpdate,
  unsupportedMediaType,
  type KubeStatus,
} from "./status.js";
import { applyStrategicMergePatch } from "./strategic-merge-patch.js";

export type Subresource = "status";

const patchers: Readonly<Record<string, (target: unknown, patch: unknown) => unknown>> = {
  "application/merge-patch+json": applyMergePatch,
  "application/strategic-merge-patch+json": applyStrategicMergePatch,
  "application/json-patch+json": applyJsonPatch,
};

const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const generatedSuffixAlphabet = "bcdfghjklmnpqrstvwxz2456789";

/**
 * The API semantics of the generic registry of the real API server, over the object store: create
 * with generateName and system fields, optimistic concurrency on update and patch, status
 * subresources, finalizers and deletion preconditions, and what `resources.ts` says of each kind (AllowUnconditionalUpdate, an immutable spec, MicroTime fields).
 * A create in a namespace the server does not know is a 404 (the NamespaceLifecycle admission plugin);
 * namespaces are names only (no Namespace objects, no termination). Deletion has no grace period and no
 * propagation policy: an object without finalizers goes at once.
 */
export class ResourceRegistry {
  readonly #store: ObjectStore;
  readonly #now: () => Date;

  readonly #namespaces: Set<string>;

  constructor(store: ObjectStore, namespaces: Iterable<string>, now: () => Date = () => new Date()) {
    this.#store = store;
    this.#namespaces = new Set(namespaces);
    this.#now = now;
  }

  /** Makes `name` a namespace objects can be created in. */
  addNamespace(name: string): void {
    this.#namespaces.add(name);
  }

  get(def: ResourceDefinition, namespace: string, name: string): KubeObject {
    const found = this.#store.get(def.kind, namespace, name);
    if (found === undefined) throw notFound(def, name);
    return found;
  }

  create(def: ResourceDefinition, namespace: string, body: unknown): KubeObject {
    const obj = decodeKubeObject(body);
    const meta = obj.metadata;
    this.#checkNamespace(def, namespace, obj);
    // NamespaceLifecycle admission (plugin/pkg/admission/namespace/lifecycle): NotFound on the namespace.
    if (def.namespaced && !this.#namespaces.has(namespace)) throw namespaceNotFound(namespace);
    checkMicroTimes(def, obj);
    if (meta.resourceVersion) throw badRequest("resourceVersion should not be set on objects to be created");
    if (!meta.name) {
      if (!meta.generateName) throw invalid(def, "", "metadata.name", "Required value: name or generateName is required");
      meta.name = this.#generateName(def, namespace, meta.generateName);
    }
    if (!dnsSubdomain.test(meta.name) || meta.name.length > 253) {
      throw invalid(def, meta.name, "metadata.name", `Invalid value: ${JSON.stringify(meta.name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`);
    }
    if (this.#store.get(def.kind, namespace, meta.name) !== undefined) throw alreadyExists(def, meta.name);
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp(this.#now());
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    dropEmptyMetadata(meta);
    if (def.clearsStatusOnCreate) delete obj["status"];
    return this.#store.add(def.kind, asServed(def, obj));
  }

  update(def: ResourceDefinition, namespace: string, name: string, body: unknown, subresource?: Subresource): KubeObject {
    const current = this.get(def, namespace, name);
    const obj = decodeKubeObject(body);
    if (obj.metadata.name !== undefined && obj.metadata.name !== name) {
      throw badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    this.#checkNamespace(def, namespace, obj);
    checkMicroTimes(def, obj);
    const rv = obj.metadata.resourceVersion;
    if (!rv && !def.allowUnconditionalUpdate) throw unconditionalUpdate(def, name);
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(def, name, staleResourceVersion);
    return this.#commit(def, current, obj, subresource);
  }

  patch(def: ResourceDefinition, namespace: string, name: string, contentType: string, patch: unknown, subresource?: Subresource): KubeObject {
    const mediaType = (contentType.split(";")[0] ?? "").trim().toLowerCase();
    const apply = patchers[mediaType];
    if (apply === undefined) throw unsupportedMediaType(contentType);
    const current = this.get(def, namespace, name);
    const obj = decodeKubeObject(apply(current, patch));
    checkMicroTimes(def, obj);
    const rv = obj.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(def, name, staleResourceVersion);
    return this.#commit(def, current, obj, subresource);
  }

  /** The response body of a DELETE: the object (being deleted, or gone) or a Success `Status`. */
  delete(def: ResourceDefinition, namespace: string, name: string, body: unknown): KubeObject | KubeStatus {
    const current = this.get(def, namespace, name);
    const options = body ?? {};
    if (!isJsonObject(options)) throw badRequest("DeleteOptions must be an object");
    const preconditions = isJsonObject(options["preconditions"]) ? options["preconditions"] : {};
    const uid = preconditions["uid"];
    if (typeof uid === "string" && uid !== current.metadata.uid) {
      throw conflict(def, name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid ?? ""}`);
    }
    const rv = preconditions["resourceVersion"];
    if (typeof rv === "string" && rv !== current.metadata.resourceVersion) {
      throw conflict(def, name, `Precondition failed: ResourceVersion in precondition: ${rv}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ""}`);
    }
    if ((current.metadata.finalizers ?? []).length > 0) {
      if (current.metadata.deletionTimestamp !== undefined) return current;
      const terminating = structuredClone(current);
      terminating.metadata.deletionTimestamp = timestamp(this.#now());
      terminating.metadata.deletionGracePeriodSeconds = 0;
      return this.#store.replace(def.kind, terminating);
    }
    const removed = this.#store.remove(def.kind, current);
    return def.returnsDeletedObject ? removed : deletedStatus(def, name, removed.metadata.uid);
  }

  /** Stores `obj` as given (create or replace), filling only what every object has; for test set-up. */
  put(def: ResourceDefinition, value: object): KubeObject {
    const obj = decodeKubeObject(JSON.parse(JSON.stringify(value)));
    const { name } = obj.metadata;
    const namespace = def.namespaced ? obj.metadata.namespace : "";
    if (!name) throw new Error(`put(${def.kind}): metadata.name is required`);
    if (namespace === undefined || (def.namespaced && namespace === "")) {
      throw new Error(`put(${def.kind}): metadata.namespace is required for a namespaced kind`);
    }
    if (!def.namespaced) delete obj.metadata.namespace;
    const existing = this.#store.get(def.kind, namespace, name);
    obj.metadata.uid ??= existing?.metadata.uid ?? randomUUID();
    obj.metadata.creationTimestamp ??= existing?.metadata.creationTimestamp ?? timestamp(this.#now());
    dropEmptyMetadata(obj.metadata);
    const typed = asServed(def, obj);
    return existing === undefined ? this.#store.add(def.kind, typed) : this.#store.replace(def.kind, typed);
  }

  /** Removes an object at once, whatever its finalizers; for test set-up. */
  remove(def: ResourceDefinition, namespace: string, name: string): boolean {
    const current = this.#store.get(def.kind, namespace, name);
    if (current !== undefined) this.#store.remove(def.kind, current);
    return current !== undefined;
  }

  /** Applies an accepted update or patch: system fields kept, status split, finalizers honoured. */
  #commit(def: ResourceDefinition, current: KubeObject, candidate: KubeObject, subresource: Subresource | undefined): KubeObject {
    const next = subresource === "status" ? { ...structuredClone(current), status: candidate["status"] } : candidate;
    if (def.immutableSpec && !jsonEqual(next["spec"], current["spec"])) throw invalid(def, current.metadata.name ?? "", "spec", "Invalid value: the spec: field is immutable");
    if (subresource !== "status" && def.statusSubresource) next["status"] = current["status"];
    if (next["status"] === undefined) delete next["status"];
    const meta = next.metadata;
    const was = current.metadata;
    const systemFields: Record<string, unknown> = meta;
    for (const field of ["name", "namespace", "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"]) {
      if (was[field] === undefined) delete systemFields[field];
      else systemFields[field] = was[field];
    }
    dropEmptyMetadata(meta);
    const typed = asServed(def, next);
    if (was.deletionTimestamp !== undefined) {
      const added = (meta.finalizers ?? []).filter((f) => !(was.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw invalid(def, was.name ?? "", "metadata.finalizers", `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`);
      }
    }
    if (jsonEqual(typed, current)) return current;
    if (was.deletionTimestamp !== undefined && meta.finalizers === undefined) return this.#store.remove(def.kind, typed);
    return this.#store.replace(def.kind, typed);
  }

  #checkNamespace(def: ResourceDefinition, namespace: string, obj: KubeObject): void {
    if (!def.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    obj.metadata.namespace = namespace;
  }

  #generateName(def: ResourceDefinition, namespace: string, prefix: string): string {
    for (;;) {
      let suffix = "";
      for (let i = 0; i < 5; i += 1) suffix += generatedSuffixAlphabet[Math.floor(Math.random() * generatedSuffixAlphabet.length)];
      const name = `${prefix}${suffix}`;
      if (this.#store.get(def.kind, namespace, name) === undefined) return name;
    }
  }
}

/**
 * The object as kube-apiserver stores and serves it: its type meta set, and each top-level field that
 * is a Go struct in the API type present — encoding/json never omits a struct, `omitempty` or not, so a
 * Node created without a spec is served with `"spec": {}`. A JSON patch that adds `/spec/taints` to
 * such a Node applies on the real server and must apply here.
 */
function asServed(def: ResourceDefinition, obj: KubeObject): KubeObject {
  const structs = Object.fromEntries(def.structFields.map((field) => [field, (obj as Record<string, unknown>)[field] ?? {}]));
  return { ...obj, ...structs, apiVersion: apiVersionOf(def), kind: def.kind };
}
