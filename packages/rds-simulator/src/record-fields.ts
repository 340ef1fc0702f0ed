import { formatBinarySize, formatSpacedInteger } from "./format-size.js";
import { isBareSafe, quoteRouterOsString } from "./quote-value.js";

/**
 * One `name=value` of a printed record. `value` is what `where` and `[find]` compare against (plain
 * digits for sizes, `yes`/`no` for booleans); `text` is what `print detail` shows.
 */
export interface RecordField {
  readonly name: string;
  readonly value: string;
  readonly text: string;
}

/** A record before the printer numbers it: flag letters, optional comment, fields in print order. */
export interface RecordDraft {
  readonly flags: string;
  readonly comment: string;
  readonly fields: readonly RecordField[];
}

export function quotedField(name: string, value: string): RecordField {
  return { name, value, text: quoteRouterOsString(value) };
}

export function bareField(name: string, value: string): RecordField {
  return { name, value, text: value };
}

/** Bare when that is unambiguous (`file-path=/raid10/x.img`), quoted otherwise. */
export function pathField(name: string, value: string): RecordField {
  return { name, value, text: isBareSafe(value) ? value : quoteRouterOsString(value) };
}

export function bytesField(name: string, bytes: number): RecordField {
  return { name, value: String(bytes), text: formatSpacedInteger(bytes) };
}

export function binarySizeField(name: string, bytes: number): RecordField {
  return { name, value: String(bytes), text: formatBinarySize(bytes) };
}

export function yesNoField(name: string, flag: boolean): RecordField {
  const value = flag ? "yes" : "no";
  return { name, value, text: value };
}
