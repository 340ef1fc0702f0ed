import { CSI_SECRET_FIELD_NAMES } from "./generated/secret-fields.js";

const REDACTED = "[redacted]";

/** Longer strings are logged as their beginning: a log line must not copy a megabyte a caller sent. */
export const MAX_LOGGED_STRING_CHARS = 256;

/**
 * Returns a log-safe copy of a CSI message: values of fields the proto marks `csi_secret`, and of
 * anything named `secrets`, are replaced (keys stay, so a log still shows which secrets were passed).
 * 64-bit integers become strings so the copy can be serialised as JSON; strings are cut at
 * MAX_LOGGED_STRING_CHARS.
 */
export function redactForLog(value: unknown): unknown {
  return redactValue(value, false);
}

function redactValue(value: unknown, secret: boolean): unknown {
  if (typeof value === "bigint") return secret ? REDACTED : value.toString();
  if (typeof value === "string" && !secret) return cut(value);
  if (value === null || typeof value !== "object") {
    return secret && value !== undefined ? REDACTED : value;
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secret));
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    // Map keys come from the caller too.
    copy[cut(key)] = redactValue(inner, secret || CSI_SECRET_FIELD_NAMES.has(key) || key === "secrets");
  }
  return copy;
}

function cut(text: string): string {
  if (text.length <= MAX_LOGGED_STRING_CHARS) return text;
  return `${text.slice(0, MAX_LOGGED_STRING_CHARS)}… (${text.length - MAX_LOGGED_STRING_CHARS} more characters)`;
}
