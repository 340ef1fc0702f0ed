import { InvalidArgumentError } from "../errors.js";
import { printableExcerpt } from "./printable-excerpt.js";

/**
 * The one way a value becomes part of a RouterOS command: a double-quoted string. Inside double quotes
 * RouterOS reads `\` as an escape, `$` as variable substitution and `?` as a request for help, so those
 * three and `"` are backslash-escaped; every byte outside printable ASCII is written as `\HH` (upper-case
 * hex, as the RouterOS manual requires), which keeps the command a single printable ASCII line whatever
 * the value holds. Callers validate the value against its kind first (routeros-value.ts); quoting is the
 * second, independent line of defence.
 */
export function quoteRouterOs(value: string): string {
  // A lone surrogate has no UTF-8 encoding; Buffer would silently replace it and the RDS would store
  // something other than what we were asked to write.
  if (LONE_SURROGATE.test(value)) {
    throw new InvalidArgumentError(`cannot quote "${printableExcerpt(value)}": it is not well-formed Unicode`);
  }
  let quoted = '"';
  for (const byte of Buffer.from(value, "utf8")) {
    if (byte < 0x20 || byte > 0x7e) quoted += `\\${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    else if (ESCAPED.has(byte)) quoted += `\\${String.fromCharCode(byte)}`;
    else quoted += String.fromCharCode(byte);
  }
  return `${quoted}"`;
}

const ESCAPED = new Set(['\\', '"', "$", "?"].map((char) => char.charCodeAt(0)));

const LONE_SURROGATE = /\p{Cs}/u;
