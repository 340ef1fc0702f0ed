import { isJsonObject } from "./json-value.js";
import type { KubeObject } from "./kube-object.js";
import type { ResourceDefinition } from "./resources.js";
import { badRequest } from "./status.js";

/**
 * metav1.MicroTime is decoded with Go's time.Parse and the layout RFC3339Micro
 * ("2006-01-02T15:04:05.000000Z07:00", apimachinery pkg/apis/meta/v1/micro_time.go): the fraction
 * must have exactly six digits, so `…:05Z` and `…:05.123Z` are refused where a metav1.Time takes them.
 */
const rfc3339Micro = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

/** A 400, as the real decoder's error is, for a MicroTime field that RFC3339Micro does not parse. */
export function checkMicroTimes(def: ResourceDefinition, obj: KubeObject): void {
  for (const path of def.microTimeFields) {
    let value: unknown = obj;
    for (const segment of path) value = isJsonObject(value) ? value[segment] : undefined;
    if (value === undefined || value === null) continue;
    if (typeof value !== "string" || !rfc3339Micro.test(value)) {
      throw badRequest(
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ${path.join(".")}: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`,
      );
    }
  }
}
