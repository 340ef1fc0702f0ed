import { InternalError } from "../errors.js";
import { isSpace, PairScanner } from "./pair-scanner.js";
import { printableExcerpt } from "./printable-excerpt.js";
import { FieldLayout, RecordFields } from "./record-fields.js";
import { readWrappedRecord, type FirstLine, type Reading } from "./wrapped-record.js";

/**
 * The one reader of RouterOS `print` output (docs/design/routeros-protocol.md, "Output"): `print terse`,
 * what the driver asks for, and `print detail`, wrapped at the console width.
 *
 * Layout: an optional `Flags:` legend (which may wrap), then records. A record starts on a line holding
 * its right-aligned index, then optional flag letters, then either a `;;; comment` or `key=value` pairs;
 * further lines are indented. Records end at an empty (or whitespace-only) line or at the next index line.
 * A record on one line (every terse record) is read as printed (pair-scanner.ts); a record on several
 * lines is read under every way RouterOS may have broken it, and only when they agree
 * (wrapped-record.ts) — a break may fall anywhere, inside a key, a value or a comment.
 *
 * A key seen twice in one record is refused rather than silently resolved. A line between records that is
 * not an index line, or a record that fits no reading, is unreadable: the RDS answered something we cannot
 * read there, and the other records stay readable (readPrintOutput).
 */

export interface RouterOsRecord {
  readonly index: number;
  /** Flag letters as printed, e.g. `Bt`, `X`; empty when none. */
  readonly flags: string;
  readonly comment?: string;
  /** Values unquoted and unescaped; bare values as printed, grouped numbers without separators. */
  readonly fields: ReadonlyMap<string, string>;
}

/**
 * A record the parser could not read: its index (when its first line had one), its text as printed, and
 * why. One such record leaves the others readable: callers that list skip and count it, callers that
 * asked for that one record fail.
 */
export interface UnreadableRecord {
  readonly index?: number;
  readonly text: string;
  readonly reason: string;
}

export interface PrintOutput {
  readonly records: RouterOsRecord[];
  readonly unreadable: UnreadableRecord[];
}

/** Every record, or an InternalError naming the first one that cannot be read. */
export function parsePrintDetail(output: string): RouterOsRecord[] {
  const { records, unreadable } = readPrintOutput(output);
  if (unreadable.length > 0) throw new InternalError(unreadable[0]!.reason);
  return records;
}

/** A finished record as the parser keeps it: the next record is read against it. */
type ParsedRecord = RouterOsRecord & { readonly fields: RecordFields };

const NO_RECORD: ParsedRecord = { index: -1, flags: "", fields: new RecordFields(new FieldLayout([]), []) };

/** A record's lines, found in a first pass: `[lineStart, contentFloor, lineEnd]` per line (see readWrappedRecord). */
interface RecordLines {
  readonly index: number;
  /** Column just after the index digits: a line indented less than this that starts with digits is the next record. */
  readonly indexEnd: number;
  readonly lines: number[];
}

/** A line outside any record that is no legend. */
interface StrayLine {
  readonly start: number;
  readonly end: number;
}

/**
 * The records that can be read, and those that cannot, each with its text. The text is scanned in place:
 * a line is `output[start, end)` (without its line break). A first pass finds the records' lines and the
 * longest of them (a cut fills its line to the width: wrapped-record.ts), a second reads each record.
 */
export function readPrintOutput(output: string): PrintOutput {
  const items: (RecordLines | StrayLine)[] = [];
  let current: RecordLines | undefined;
  let longestLine = 0;
  let continuationIndent = Number.MAX_SAFE_INTEGER;
  let legend = "";
  let inLegend = false;
  for (let start = 0; start <= output.length; ) {
    let newline = output.indexOf("\n", start);
    if (newline < 0) newline = output.length;
    const end = newline > start && output.charCodeAt(newline - 1) === 13 /* \r */ ? newline - 1 : newline;
    let spaces = start;
    while (spaces < end && output.charCodeAt(spaces) === 32) spaces++;
    let leading = spaces;
    while (leading < end && isSpace(output.charCodeAt(leading))) leading++;
    if (leading === end && current && end - start > 1 && continuesRecord(output, newline + 1, current)) {
      // Not a separator (empty, or one space): spaces a cut left on a line of their own, more of the record follows.
      current.lines.push(start, start, end);
      longestLine = Math.max(longestLine, end - start);
    } else if (leading === end) {
      current = undefined;
      inLegend = false;
    } else {
      const index = indexLine(output, start, spaces, end);
      if (index && (!current || index.indent < current.indexEnd)) {
        inLegend = false;
        current = { index: index.value, indexEnd: index.end, lines: [start, start + index.end, end] };
        items.push(current);
        longestLine = Math.max(longestLine, end - start);
      } else if (current) {
        current.lines.push(start, start, end);
        continuationIndent = Math.min(continuationIndent, spaces - start);
        longestLine = Math.max(longestLine, end - start);
      } else if (items.length === 0 && output.startsWith("Flags:", start)) {
        inLegend = true;
        legend += output.slice(start, end);
      } else if (inLegend) {
        legend += ` ${output.slice(start, end)}`;
      } else {
        items.push({ start, end });
      }
    }
    start = newline + 1;
  }
  // `Flags: X - DISABLED; B - BLOCK-DEVICE; …`: the letters a flag column can hold (RouterOS prints the
  // legend whenever it prints flag columns, so none without one).
  const flagLetters = new Set(Array.from(legend.matchAll(/(?:^Flags:|;)\s*([A-Za-z])\s*-\s/g), (match) => match[1]!));
  const records: ParsedRecord[] = [];
  const unreadable: UnreadableRecord[] = [];
  for (const item of items) {
    if (!("lines" in item)) {
      const text = output.slice(item.start, item.end);
      unreadable.push({ text, reason: `cannot read RouterOS output: unexpected line "${printableExcerpt(text)}"` });
      continue;
    }
    const reading = readRecord(output, item, { longestLine, continuationIndent, flagLetters });
    if ("failure" in reading) {
      unreadable.push({ index: item.index, text: output.slice(item.lines[0], item.lines.at(-1)), reason: `cannot read RouterOS record ${item.index}: ${reading.failure}` });
    } else {
      records.push(sharedWith(records.at(-1) ?? NO_RECORD, item.index, reading));
    }
  }
  return { records, unreadable };
}

/** What the whole output tells about each record's layout. */
interface OutputLayout {
  readonly longestLine: number;
  readonly continuationIndent: number;
  /** The legend's letters (none without a legend): the flags a record printed over several lines can have. */
  readonly flagLetters: ReadonlySet<string>;
}

function readRecord(output: string, record: RecordLines, layout: OutputLayout): Reading | { readonly failure: string } {
  const lines = record.lines;
  const firstEnd = lines[2]!;
  let pos = skipWhitespace(output, lines[1]!, firstEnd);
  let flags = "";
  let lastGroup = -1;
  for (let end = flagEnd(output, pos, firstEnd); end > pos; end = flagEnd(output, pos, firstEnd)) {
    flags += output.slice(pos, end);
    lastGroup = pos;
    pos = skipWhitespace(output, end, firstEnd);
  }
  if (lines.length === 3) return readOneLine(output, flags, pos, firstEnd);
  const firstLines: FirstLine[] = [{ flags, contentStart: pos }];
  // Letters at the very end of the first line may be flags, or a key that the width cut short (` 0 Bt typ`);
  // under a legend, flags are its letters, each at most once.
  if (lastGroup >= 0 && pos === firstEnd && /^[a-z]/.test(output[lastGroup]!) && !isSpace(output.charCodeAt(firstEnd - 1))) {
    firstLines.push({ flags: flags.slice(0, flags.length - (firstEnd - lastGroup)), contentStart: lastGroup });
  }
  const letters = layout.flagLetters;
  const possible = firstLines.filter((first) => new Set(first.flags).size === first.flags.length && [...first.flags].every((letter) => letters.has(letter)));
  return readWrappedRecord(output, lines, possible.length > 0 ? possible : firstLines, layout.longestLine, layout.continuationIndent);
}

/** A record on one line, as every terse record is: read as printed. */
function readOneLine(output: string, flags: string, start: number, end: number): Reading | { readonly failure: string } {
  if (output.startsWith(";;;", start)) {
    return { flags, comment: output.slice(start + 3, end).trim(), keys: [], values: [] };
  }
  const scanner = new PairScanner(false);
  if (!scanner.scan(output, start, end) || !scanner.finish(output, end)) return { failure: scanner.failure ?? "it cannot be read" };
  return { flags, comment: undefined, keys: scanner.keys, values: scanner.values };
}

/**
 * The record as kept: records in a listing mostly print the same keys, flags and many of the same values
 * (`no`, `512`) as the one before, so a record reuses that record's strings and key layout where they are
 * equal instead of keeping copies of its own (a 10,000-disk listing then holds one layout).
 */
function sharedWith(previous: ParsedRecord, index: number, reading: Reading): ParsedRecord {
  const previousKeys = previous.fields.layout.keys;
  const sameKeys = reading.keys.length === previousKeys.length && reading.keys.every((key, position) => key === previousKeys[position]);
  const layout = sameKeys ? previous.fields.layout : new FieldLayout(reading.keys);
  const values = reading.values.map((value, position) => {
    const before = previous.fields.valueAt(position);
    return sameKeys && before === value ? before : value;
  });
  const fields = new RecordFields(layout, values);
  const flags = reading.flags === previous.flags ? previous.flags : reading.flags;
  if (reading.comment === undefined) return { index, flags, fields };
  return { index, flags, comment: reading.comment === previous.comment ? previous.comment : reading.comment, fields };
}

/** Whether the line at `start` goes on with `record`: it holds more than whitespace and is not the next record's index line. */
function continuesRecord(text: string, start: number, record: RecordLines): boolean {
  let end = text.indexOf("\n", start);
  if (end < 0) end = text.length;
  let spaces = start;
  while (spaces < end && text.charCodeAt(spaces) === 32) spaces++;
  if (skipWhitespace(text, spaces, end) === end) return false;
  const index = indexLine(text, start, spaces, end);
  return !index || index.indent >= record.indexEnd;
}

interface IndexLine {
  /** Spaces before the digits (indexes are right-aligned). */
  readonly indent: number;
  /** Column just after the digits. */
  readonly end: number;
  readonly value: number;
}

/** A line that starts with spaces (up to `digits`), then digits followed by whitespace or the end: a record's first line. */
function indexLine(text: string, lineStart: number, digits: number, lineEnd: number): IndexLine | undefined {
  let at = digits;
  while (at < lineEnd && text.charCodeAt(at) >= 48 && text.charCodeAt(at) <= 57) at++;
  if (at === digits || (at < lineEnd && !isSpace(text.charCodeAt(at)))) return undefined;
  return { indent: digits - lineStart, end: at - lineStart, value: Number(text.slice(digits, at)) };
}

/** The end of a flag column's letters at `pos` (letters followed by whitespace or the line's end), or `pos` when there are none. */
function flagEnd(text: string, pos: number, lineEnd: number): number {
  let at = pos;
  while (at < lineEnd && isLetter(text.charCodeAt(at))) at++;
  return at < lineEnd && !isSpace(text.charCodeAt(at)) ? pos : at;
}

function skipWhitespace(text: string, pos: number, end: number): number {
  while (pos < end && isSpace(text.charCodeAt(pos))) pos++;
  return pos;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}
