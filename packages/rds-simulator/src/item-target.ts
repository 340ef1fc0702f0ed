import type { Target } from "./command-parser.js";
import type { RecordDraft } from "./record-fields.js";
import { noSuchItem } from "./routeros-error.js";
import { matchesAll } from "./where-clause.js";

export interface Candidate<T> {
  readonly item: T;
  /** the item's name (a disk's slot, a file's name) */
  readonly name: string;
  readonly record: RecordDraft;
}

/**
 * The items a `set`/`remove` target selects. `[find ...]` selects what matches, possibly nothing (the
 * command then succeeds without doing anything); a name must exist, else `no such item`.
 */
export function selectItems<T>(target: Target, candidates: readonly Candidate<T>[]): T[] {
  if (target.kind === "find") {
    return candidates.filter((candidate) => matchesAll(target.conditions, valueLookup(candidate.record))).map((c) => c.item);
  }
  const named = candidates.filter((candidate) => candidate.name === target.name).map((c) => c.item);
  if (named.length === 0) throw noSuchItem();
  return named;
}

export function valueLookup(record: RecordDraft): (property: string) => string | undefined {
  return (property) => record.fields.find((field) => field.name === property)?.value;
}
