import { AbortedError, InvalidArgumentError, printableExcerpt } from "@rds-csi/core";

export interface PageRequest {
  readonly maxEntries: number;
  readonly startingToken: string;
}

export interface Page<T> {
  readonly entries: T[];
  /** Empty when nothing follows. */
  readonly nextToken: string;
}

/**
 * Validation of a list request, before anything is read: a negative max_entries is INVALID_ARGUMENT,
 * a token that is not an id (so not one this driver issued) is ABORTED, as CSI asks.
 */
export function checkPageRequest(request: PageRequest, isToken: (token: string) => boolean): void {
  if (request.maxEntries < 0) throw new InvalidArgumentError(`max_entries must not be negative (got ${request.maxEntries})`);
  if (request.startingToken !== "" && !isToken(request.startingToken)) {
    throw new AbortedError(`starting_token "${printableExcerpt(request.startingToken)}" was not issued by this driver; start the listing again without a token`);
  }
}

/**
 * One page of a listing sorted by id, for a request `checkPageRequest` accepted. The token is the last
 * id returned, so it stays valid whatever is added or removed between calls: the next page starts after
 * that id, whether or not it still exists. Nothing is remembered between calls, so a token works on
 * any replica and after a restart.
 */
export function pageById<T>(items: readonly T[], idOf: (item: T) => string, request: PageRequest): Page<T> {
  const sorted = [...items].sort((a, b) => compare(idOf(a), idOf(b)));
  const token = request.startingToken;
  const rest = token === "" ? sorted : sorted.filter((item) => compare(idOf(item), token) > 0);
  const limit = request.maxEntries === 0 ? rest.length : request.maxEntries;
  const entries = rest.slice(0, limit);
  return { entries, nextToken: rest.length > limit ? idOf(entries[entries.length - 1]!) : "" };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
