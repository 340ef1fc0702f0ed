import { isJsonObject } from "./json-value.js";
import { keyOf, type KubeObject } from "./kube-object.js";
import { badRequest, expired } from "./status.js";

export interface PageRequest {
  /** 0: everything */
  readonly limit: number;
  readonly continueToken?: string;
  /** the resource version a fresh list is served at */
  readonly currentRv: number;
  /** continue tokens of lists older than this are expired, like compacted etcd revisions */
  readonly oldestRv: number;
}

export interface Page {
  readonly items: readonly KubeObject[];
  readonly resourceVersion: number;
  readonly continueToken?: string;
  readonly remainingItemCount?: number;
}

interface Token {
  readonly rv: number;
  readonly after: string;
}

/**
 * Cuts one page out of `items` (sorted by `namespace/name`). The continue token is opaque to clients;
 * it carries the list's resource version and the last key served. Later pages are read from the
 * current state but report the first page's resource version, which is safe for a client that
 * watches from it (it sees the newer changes again as events).
 */
export function paginate(items: readonly KubeObject[], request: PageRequest): Page {
  const token = request.continueToken ? decodeToken(request.continueToken) : undefined;
  if (token !== undefined && token.rv < request.oldestRv) {
    throw expired(
      "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
    );
  }
  const rv = token?.rv ?? request.currentRv;
  const rest = token === undefined ? items : items.filter((obj) => keyOf(obj) > token.after);
  const { limit } = request;
  if (limit === 0 || rest.length <= limit) return { items: rest, resourceVersion: rv };
  const page = rest.slice(0, limit);
  const next: Token = { rv, after: keyOf(page[page.length - 1]!) };
  return {
    items: page,
    resourceVersion: rv,
    continueToken: Buffer.from(JSON.stringify(next)).toString("base64url"),
    remainingItemCount: rest.length - limit,
  };
}

function decodeToken(text: string): Token {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    decoded = undefined;
  }
  if (!isJsonObject(decoded) || typeof decoded["rv"] !== "number" || typeof decoded["after"] !== "string") {
    throw badRequest(`continue key is not valid: ${JSON.stringify(text)}`);
  }
  return { rv: decoded["rv"], after: decoded["after"] };
}
