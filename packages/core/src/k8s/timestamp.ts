/** Milliseconds since the epoch of an object's RFC 3339 timestamp field, or undefined when absent or unreadable. */
export function timestampMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
