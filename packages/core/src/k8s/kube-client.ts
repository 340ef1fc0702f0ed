import type { KubeConnection } from "./kube-connection.js";
import { InvalidArgumentError } from "../errors.js";
import type { JsonPatchOperation } from "./json-patch-ops.js";
import type { KubeList, KubeObject } from "./kube-objects.js";
import { DEFAULT_KUBE_REQUEST_TIMEOUT_MS, KubeStatusError, kubeRequest } from "./kube-request.js";

export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** deadline of each page's request; the caller's signal bounds the whole list */
  readonly timeoutMs?: number;
}

/** meta/v1 DeleteOptions, the parts a controller uses. */
export interface DeleteOptions {
  /** the delete happens only if the object still has this uid / resourceVersion; otherwise ConflictError */
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  /** what happens to dependents (ownerReferences); the server's default depends on the kind */
  readonly propagationPolicy?: "Orphan" | "Background" | "Foreground";
  /** 0 with a Pod: deleted at once, without waiting for the kubelet (a force delete) */
  readonly gracePeriodSeconds?: number;
}

/** Objects per list page: big lists arrive in bounded pieces, as client-go's pager fetches them. */
const PAGE_SIZE = 500;

/**
 * The Kubernetes API calls the services make, over one connection, each through kubeRequest (deadline,
 * one error classification). Paths are the API's own (`/api/v1/nodes/n1`); `what` names the call in
 * errors, e.g. `read Node n1`. Watches go through DeadlineWatch, informers through RelistingInformer.
 */
export class KubeClient {
  readonly connection: KubeConnection;

  constructor(connection: KubeConnection) {
    this.connection = connection;
  }

  get<T extends KubeObject>(what: string, path: string, signal: AbortSignal): Promise<T> {
    return kubeRequest<T>(this.connection, what, { method: "GET", path }, signal);
  }

  /**
   * Every object of a collection, page by page. The list's resourceVersion (a watch starts from it) is
   * the one of the snapshot all pages come from. When a continue token expires (410) mid-way, the list
   * starts over in one piece, as client-go's pager does.
   */
  async list<T extends KubeObject>(what: string, path: string, signal: AbortSignal, options: ListOptions = {}): Promise<KubeList<T>> {
    const { labelSelector, fieldSelector } = options;
    const timeoutMs = options.timeoutMs ?? DEFAULT_KUBE_REQUEST_TIMEOUT_MS;
    const items: T[] = [];
    let page: KubeList<T> | undefined;
    let token: string | undefined;
    do {
      const query = { labelSelector, fieldSelector, limit: String(PAGE_SIZE), continue: token };
      try {
        page = await kubeRequest<KubeList<T>>(this.connection, what, { method: "GET", path, query }, signal, timeoutMs);
      } catch (err) {
        if (token === undefined || !isExpired(err)) throw err;
        return kubeRequest<KubeList<T>>(this.connection, what, { method: "GET", path, query: { labelSelector, fieldSelector } }, signal, timeoutMs);
      }
      items.push(...page.items);
      token = page.metadata?.continue || undefined;
    } while (token !== undefined);
    return { ...page, items };
  }

  create<T extends KubeObject>(what: string, path: string, body: object, signal: AbortSignal): Promise<T> {
    return kubeRequest<T>(this.connection, what, { method: "POST", path, body }, signal);
  }

  /**
   * PUT: replaces the object (the `/status` path replaces its status). Refused before sending unless the
   * object carries the resourceVersion it was read at, so an update never overwrites a change it has
   * not seen; a stale one is a ConflictError (re-read, decide again).
   */
  update<T extends KubeObject>(what: string, path: string, object: T, signal: AbortSignal): Promise<T> {
    if (!object.metadata?.resourceVersion) {
      return Promise.reject(new InvalidArgumentError(`${what}: an update must carry the metadata.resourceVersion it was read at`));
    }
    return kubeRequest<T>(this.connection, what, { method: "PUT", path, body: object }, signal);
  }

  /**
   * DELETE with preconditions and propagation policy. Answers with the object (still there with a
   * deletionTimestamp while finalizers hold it, or its last state) or a Success `Status`, by kind.
   */
  delete(what: string, path: string, signal: AbortSignal, options: DeleteOptions = {}): Promise<KubeObject> {
    return kubeRequest<KubeObject>(this.connection, what, { method: "DELETE", path, body: { apiVersion: "v1", kind: "DeleteOptions", ...options } }, signal);
  }

  /**
   * An RFC 6902 JSON patch. For lists other controllers also write (finalizers, taints) build it with
   * `listItemAddition` / `listItemRemoval`: their `test` ops make the patch fail (ConflictError) when the
   * list changed since it was read, where a merge patch would silently replace the whole list.
   */
  jsonPatch<T extends KubeObject>(what: string, path: string, operations: readonly JsonPatchOperation[], signal: AbortSignal): Promise<T> {
    if (operations.length === 0) return Promise.reject(new InvalidArgumentError(`${what}: an empty JSON patch`));
    return kubeRequest<T>(this.connection, what, { method: "PATCH", path, body: operations, headers: { "content-type": "application/json-patch+json" } }, signal);
  }

  /**
   * A JSON merge patch (RFC 7386): objects merge, `null` removes a key, anything else replaces, lists
   * included; so never for a list someone else also writes (see `jsonPatch`).
   */
  mergePatch<T extends KubeObject>(what: string, path: string, patch: object, signal: AbortSignal): Promise<T> {
    return kubeRequest<T>(this.connection, what, { method: "PATCH", path, body: patch, headers: { "content-type": "application/merge-patch+json" } }, signal);
  }
}

function isExpired(err: unknown): boolean {
  return err instanceof Error && err.cause instanceof KubeStatusError && err.cause.code === 410;
}
