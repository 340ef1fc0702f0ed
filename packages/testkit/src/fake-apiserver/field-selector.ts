import { isJsonObject } from "./json-value.js";
import type { KubeObject } from "./kube-object.js";
import type { ResourceDefinition } from "./resources.js";
import { badRequest } from "./status.js";

export type ObjectPredicate = (obj: KubeObject) => boolean;

const commonFields = ["metadata.name", "metadata.namespace"];
const term = /^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$/;

/**
 * Parses a field selector (`f=v`, `f==v`, `f!=v`, comma-separated) against the fields the real
 * server lets one select on for this resource; any other field is a 400, as the server answers.
 * An absent field compares as the empty string.
 */
export function parseFieldSelector(text: string, def: ResourceDefinition): ObjectPredicate {
  if (text.trim() === "") return () => true;
  const terms = text.split(",").map((part) => {
    const match = term.exec(part.trim());
    if (match === null) throw badRequest(`invalid field selector: ${JSON.stringify(part)}`);
    const [, field, op, value] = match as unknown as [string, string, string, string];
    if (!commonFields.includes(field) && !def.selectableFields.includes(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    return { field, equal: op !== "!=", value };
  });
  return (obj) => terms.every((t) => (fieldValue(obj, t.field) === t.value) === t.equal);
}

function fieldValue(obj: KubeObject, path: string): string {
  let at: unknown = obj;
  for (const segment of path.split(".")) {
    if (!isJsonObject(at)) return "";
    at = at[segment];
  }
  return at === undefined || at === null ? "" : String(at);
}
