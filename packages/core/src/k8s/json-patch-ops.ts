/** One RFC 6902 operation; `path` is a JSON pointer (build it with `jsonPointer`). */
export type JsonPatchOperation =
  | { readonly op: "add" | "replace" | "test"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string };

/** A JSON pointer (RFC 6901) from unescaped segments: `jsonPointer("metadata", "annotations", "a/b")` is `/metadata/annotations/a~1b`. */
export function jsonPointer(...segments: readonly (string | number)[]): string {
  return segments.map((segment) => `/${String(segment).replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

/**
 * The operations that append `item` to the list at `pointer`, given the list as it was read (`seen`,
 * undefined when absent) in the object at `resourceVersion`. A present list is tested whole, so an
 * entry someone else added or removed meanwhile fails the patch instead of being lost or duplicated; an
 * absent list can only be tested through the object's resourceVersion (RFC 6902 has no "absent" test).
 * Nothing to do (empty) when an entry `same` as the item is already there (a taint is the same by key
 * and effect, not by its timeAdded).
 */
export function listItemAddition<T>(
  pointer: string,
  seen: readonly T[] | undefined,
  item: T,
  resourceVersion: string,
  same: (entry: T, item: T) => boolean = (a, b) => JSON.stringify(a) === JSON.stringify(b),
): JsonPatchOperation[] {
  if (seen === undefined || seen.length === 0) {
    return [
      { op: "test", path: "/metadata/resourceVersion", value: resourceVersion },
      { op: "add", path: pointer, value: [item] },
    ];
  }
  if (seen.some((entry) => same(entry, item))) return [];
  return [
    { op: "test", path: pointer, value: seen },
    { op: "add", path: `${pointer}/-`, value: item },
  ];
}

/**
 * The operations that remove the entries of the list at `pointer` that `matches` selects, given the list
 * as it was read. Each removal first tests the entry at its index, so entries others append meanwhile
 * are kept and a list reordered or shortened by someone else fails the patch. Indexes go from the end
 * so earlier removals do not shift later ones. Nothing to do (empty) when no entry matches.
 */
export function listItemRemoval<T>(pointer: string, seen: readonly T[] | undefined, matches: (entry: T) => boolean): JsonPatchOperation[] {
  const operations: JsonPatchOperation[] = [];
  const list = seen ?? [];
  for (let index = list.length - 1; index >= 0; index--) {
    if (!matches(list[index]!)) continue;
    operations.push({ op: "test", path: `${pointer}/${index}`, value: list[index] }, { op: "remove", path: `${pointer}/${index}` });
  }
  return operations;
}

