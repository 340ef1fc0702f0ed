/**
 * Writes a string value the way `print` shows it: in double quotes, with `"` `\` `$` escaped and every
 * byte outside printable ASCII as `\HH` — the same escapes the console accepts on input.
 */
export function quoteRouterOsString(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, "utf8")) {
    if (byte === 0x22 || byte === 0x5c || byte === 0x24) out += `\\${String.fromCharCode(byte)}`;
    else if (byte < 0x20 || byte >= 0x7f) out += `\\${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}

/** Whether a value can be printed bare (RouterOS prints paths bare, but a space or quote would make that ambiguous). */
export function isBareSafe(value: string): boolean {
  return /^[\x21-\x7e]+$/u.test(value) && !/["\\$=]/u.test(value);
}

/**
 * A string as `print terse` shows it: unquoted, so a value with spaces reads on until the next `key=`.
 * How terse shows bytes outside printable ASCII is not documented; they are written `\HH`, so a record
 * always stays on its one line.
 */
export function terseString(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    out += byte < 0x20 || byte >= 0x7f ? `\\${byte.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(byte);
  }
  return out;
}
