/**
 * Milliseconds since the epoch of an object's timestamp field, or undefined when absent or unreadable.
 * The same field reaches us in two shapes: client-node's typed list calls turn it into a `Date`, while
 * objects from a watch stream are plain JSON and keep the RFC 3339 string, whatever the declared type says.
 */
export function timestampMs(value: Date | string | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
