import { formatBinarySize, formatSpacedInteger } from "./format-size.js";
import { isBareSafe, quoteRouterOsString, terseString } from "./quote-value.js";

/**
 * One `name=value` of a printed record. `value` is what `where` and `[find]` compare against (plain
 * digits for sizes, `yes`/`no` for booleans); `text` is what `print detail` shows; `terse` what `print
 * terse` shows, which never quotes (`name=ether1`, `comment=uplink to internet` in terse output captured
 * from RouterOS, networktocode/ntc-templates tests/mikrotik_routeros/*_print_terse_*).
 */
export interface RecordField {
  readonly name: string;
  readonly value: string;
  readonly text: string;
  readonly terse: string;
}

/** A record before the printer numbers it: flag letters, optional comment, fields in print order. */
export interface RecordDraft {
  readonly flags: string;
  readonly comment: string;
  readonly fields: readonly RecordField[];
}

export function quotedField(name: string, value: string): RecordField {
  return { name, value, text: quoteRouterOsString(value), terse: terseString(value) };
}

export function bareField(name: string, value: string): RecordField {
  return { name, value, text: value, terse: value };
}

/** Bare when that is unambiguous (`file-path=/raid10/x.img`), quoted otherwise. */
export function pathField(name: string, value: string): RecordField {
  return { name, value, text: isBareSafe(value) ? value : quoteRouterOsString(value), terse: terseString(value) };
}

/** Exact counts keep their thousands separators in terse output too (not verified: the harder case for a reader). */
export function bytesField(name: string, bytes: number): RecordField {
  const text = formatSpacedInteger(bytes);
  return { name, value: String(bytes), text, terse: text };
}

export function binarySizeField(name: string, bytes: number): RecordField {
  const text = formatBinarySize(bytes);
  return { name, value: String(bytes), text, terse: text };
}

/** A `/file` size: bytes below 1 KiB (`size=0`), rounded above (`size=1924.1KiB`; MikroTik manual, "Files", RouterOS 7). */
export function fileSizeField(name: string, bytes: number): RecordField {
  const text = bytes < 1024 ? String(bytes) : formatBinarySize(bytes);
  return { name, value: String(bytes), text, terse: text };
}

export function yesNoField(name: string, flag: boolean): RecordField {
  const value = flag ? "yes" : "no";
  return { name, value, text: value, terse: value };
}
