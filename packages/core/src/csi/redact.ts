import { CSI_SECRET_FIELD_NAMES } from "./generated/secret-fields.js";

const REDACTED = "[redacted]";

/**
 * Returns a log-safe copy of a CSI message: values of fields the proto marks `csi_secret`, and of
 * anything named `secrets`, are replaced (keys stay, so a log still shows which secrets were passed).
 * 64-bit integers become strings so the copy can be serialised as JSON.
 */
export function redactForLog(value: unknown): unknown {
  return redactValue(value, false);
}

function redactValue(value: unknown, secret: boolean): unknown {
  if (typeof value === "bigint") return secret ? REDACTED : value.toString();
  if (value === null || typeof value !== "object") {
    return secret && value !== undefined ? REDACTED : value;
  }
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secret));
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    copy[key] = redactValue(inner, secret || CSI_SECRET_FIELD_NAMES.has(key) || key === "secrets");
  }
  return copy;
}
