import { isJsonObject, jsonEqual, type JsonObject } from "./json-value.js";
import { badRequest } from "./status.js";

/**
 * The lists that the Kubernetes Go types of the served kinds mark `patchStrategy:"merge"`, by field
 * name: `finalizers` (a set of strings) and `conditions` (merged by `type`, in Node, Pod and PVC
 * status). Every other list is replaced, as in a merge patch.
 */
const mergedLists: Readonly<Record<string, string | null>> = { finalizers: null, conditions: "type" };

const deleteFromPrimitiveList = "$deleteFromPrimitiveList/";

/**
 * Strategic merge patch for the fields the fake's kinds use: a JSON merge patch, except that the
 * lists above are merged instead of replaced, `$deleteFromPrimitiveList/<field>` removes strings from
 * a merged primitive list, and a list item with `"$patch": "delete"` removes the item with that key.
 * `$setElementOrder/…` and `$retainKeys` only order or prune what the server already merged and are
 * ignored.
 */
export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return structuredClone(patch);
  const result: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith(deleteFromPrimitiveList)) continue;
    const field = key.slice(deleteFromPrimitiveList.length);
    const current = result[field];
    if (!Array.isArray(value)) throw badRequest(`${key} must be a list`);
    if (Array.isArray(current)) result[field] = current.filter((item) => !value.some((gone) => jsonEqual(gone, item)));
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) continue;
    const mergeKey = mergedLists[key];
    if (value === null) delete result[key];
    else if (mergeKey !== undefined && Array.isArray(value)) result[key] = mergeList(result[key], value, mergeKey);
    else result[key] = applyStrategicMergePatch(result[key], value);
  }
  return result;
}

function mergeList(current: unknown, patch: readonly unknown[], mergeKey: string | null): unknown[] {
  const result = Array.isArray(current) ? [...current] : [];
  for (const item of patch) {
    if (mergeKey === null) {
      if (!result.some((existing) => jsonEqual(existing, item))) result.push(item);
      continue;
    }
    if (!isJsonObject(item) || item[mergeKey] === undefined) throw badRequest(`list items must be objects with the merge key ${mergeKey}`);
    const at = result.findIndex((existing) => isJsonObject(existing) && jsonEqual(existing[mergeKey], item[mergeKey]));
    if (item["$patch"] === "delete") {
      if (at >= 0) result.splice(at, 1);
    } else if (at >= 0) {
      result[at] = applyStrategicMergePatch(result[at], item);
    } else {
      result.push(applyStrategicMergePatch({}, item));
    }
  }
  return result;
}
