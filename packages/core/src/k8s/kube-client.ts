import type { KubeConnection } from "./kube-connection.js";
import type { KubeList, KubeObject } from "./kube-objects.js";
import { DEFAULT_KUBE_REQUEST_TIMEOUT_MS, KubeStatusError, kubeRequest } from "./kube-request.js";

export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** deadline of each page's request; the caller's signal bounds the whole list */
  readonly timeoutMs?: number;
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

  /** A JSON merge patch (RFC 7386): objects merge, `null` removes a key, anything else replaces. */
  mergePatch<T extends KubeObject>(what: string, path: string, patch: object, signal: AbortSignal): Promise<T> {
    return kubeRequest<T>(this.connection, what, { method: "PATCH", path, body: patch, headers: { "content-type": "application/merge-patch+json" } }, signal);
  }
}

function isExpired(err: unknown): boolean {
  return err instanceof Error && err.cause instanceof KubeStatusError && err.cause.code === 410;
}
