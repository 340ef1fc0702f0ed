import { keyOf, objectKey, type KubeObject } from "./kube-object.js";
import type { ResourceKind } from "./resources.js";

export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

/** One write, as watches see it. `object` carries the write's resource version. */
export interface StoredChange {
  readonly type: ChangeType;
  readonly kind: ResourceKind;
  readonly rv: number;
  readonly object: KubeObject;
  /** the state before a MODIFIED or DELETED write */
  readonly previous?: KubeObject;
}

/**
 * The objects of every kind, and the one resource-version counter all writes share (like etcd's
 * revision). It applies writes without judging them; API semantics live in the registry. Objects go
 * in and out as copies, so callers cannot change stored state behind its back.
 */
export class ObjectStore {
  #rv = 0;
  readonly #objects = new Map<ResourceKind, Map<string, KubeObject>>();
  readonly #onChange: (change: StoredChange) => void;

  constructor(onChange: (change: StoredChange) => void) {
    this.#onChange = onChange;
  }

  currentRv(): number {
    return this.#rv;
  }

  get(kind: ResourceKind, namespace: string, name: string): KubeObject | undefined {
    const found = this.#table(kind).get(objectKey(namespace, name));
    return found === undefined ? undefined : structuredClone(found);
  }

  /** Every object of `kind`, ordered by namespace and name. */
  list(kind: ResourceKind): KubeObject[] {
    return [...this.#table(kind).entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, obj]) => structuredClone(obj));
  }

  add(kind: ResourceKind, obj: KubeObject): KubeObject {
    return this.#write("ADDED", kind, obj);
  }

  replace(kind: ResourceKind, obj: KubeObject): KubeObject {
    return this.#write("MODIFIED", kind, obj);
  }

  /** Removes the object; `finalState` is what the DELETED event carries. */
  remove(kind: ResourceKind, finalState: KubeObject): KubeObject {
    return this.#write("DELETED", kind, finalState);
  }

  #write(type: ChangeType, kind: ResourceKind, obj: KubeObject): KubeObject {
    const table = this.#table(kind);
    const key = keyOf(obj);
    const previous = table.get(key);
    this.#rv += 1;
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(this.#rv);
    if (type === "DELETED") table.delete(key);
    else table.set(key, stored);
    this.#onChange({ type, kind, rv: this.#rv, object: structuredClone(stored), ...(previous === undefined ? {} : { previous }) });
    return structuredClone(stored);
  }

  #table(kind: ResourceKind): Map<string, KubeObject> {
    let table = this.#objects.get(kind);
    if (table === undefined) {
      table = new Map();
      this.#objects.set(kind, table);
    }
    return table;
  }
}
