import type { Target } from "./command-parser.js";
import type { RecordDraft } from "./record-fields.js";
import { noSuchItem } from "./routeros-error.js";
import { matchesAll, type Condition } from "./where-clause.js";

/** How a menu finds its items: by name, and the few a `where`/`[find]` can match when an index narrows them. */
export interface ItemIndex<T> {
  /** the item with this name (a disk's slot, a file's name) */
  byName(name: string): T | undefined;
  /** every item `conditions` could match, in list order: all of them unless an index rules some out */
  candidates(conditions: readonly Condition[]): readonly T[];
  record(item: T): RecordDraft;
}

/**
 * The items a `set`/`remove` target selects. `[find ...]` selects what matches, possibly nothing (the
 * command then succeeds without doing anything); a name must exist, else `no such item`.
 */
export function selectItems<T>(target: Target, index: ItemIndex<T>): T[] {
  if (target.kind === "find") {
    return index.candidates(target.conditions).filter((item) => matchesAll(target.conditions, valueLookup(index.record(item))));
  }
  const named = index.byName(target.name);
  if (named === undefined) throw noSuchItem();
  return [named];
}

/** The `=` value a condition list requires of `property`, if one of them does: the key for an index lookup. */
export function requiredValue(conditions: readonly Condition[], property: string): string | undefined {
  return conditions.find((condition) => condition.operator === "=" && condition.property === property)?.value;
}

export function valueLookup(record: RecordDraft): (property: string) => string | undefined {
  return (property) => record.fields.find((field) => field.name === property)?.value;
}
