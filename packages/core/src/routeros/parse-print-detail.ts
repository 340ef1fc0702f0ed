import { InternalError } from "../errors.js";
import { printableExcerpt } from "./printable-excerpt.js";
import { FieldLayout, RecordFields } from "./record-fields.js";
import { joinBrokenValue, withoutThousandsSeparators } from "./spaced-number.js";

/**
 * The one reader of RouterOS `print detail` output (docs/design/routeros-protocol.md, "Output").
 *
 * Layout: an optional `Flags:` legend (which may wrap), then records. A record starts on a line holding
 * its right-aligned index, then optional flag letters, then either a `;;; comment` or `key=value` pairs;
 * further lines are indented. Records end at an empty (or whitespace-only) line or at the next index line.
 *
 * Joining wrapped lines — the terminal breaks a record between pairs, or inside a value that does not fit,
 * adding no character at the break:
 * 1. A quoted value still open at the end of a line goes on with the next line's text (indentation removed,
 *    nothing added).
 * 2. Otherwise a line whose text starts with `key=` starts new pairs.
 * 3. Otherwise the line goes on with the previous value, again adding nothing — except for grouped
 *    numbers, which may also be broken at a separator space (`size=10 737` + `418 240`); the rule for
 *    those is spelled out in spaced-number.ts. Grouped numbers are stored without separators
 *    (`10737418240`), so a number reads the same wherever the terminal broke it.
 * 4. A comment runs from `;;;` to the end of its line and over following lines until the first line that
 *    starts with `key=` (fields always start on a fresh line after a comment). A wrapped comment whose
 *    continuation happens to start with `word=` is therefore read as fields: that ambiguity is inherent to
 *    the layout, so the transport should ask for a terminal wide enough for the longest comment.
 *
 * Keys are only recognized at a key boundary (start of the text or after whitespace), never inside another
 * key (`size=` does not match `file-size=`), and a key seen twice in one record is refused rather than
 * silently resolved. A line between records that is not an index line, or text that fits none of the rules,
 * makes that record (or that line) unreadable: the RDS answered something we cannot read there, and the
 * other records stay readable (readPrintOutput).
 *
 * The same reader takes `print terse` (docs/design/routeros-protocol.md, "Output"): one record per line,
 * never wrapped, values unquoted, a comment as a leading `comment=` pair. A terse line is a detail record
 * that happens to fit on one line.
 */

export interface RouterOsRecord {
  readonly index: number;
  /** Flag letters as printed, e.g. `Bt`, `X`; empty when none. */
  readonly flags: string;
  readonly comment?: string;
  /** Values unquoted and unescaped; bare values as printed, grouped numbers without separators. */
  readonly fields: ReadonlyMap<string, string>;
}

const COMMENT_MARK = ";;;";

/** A finished record as the parser keeps it: the next record is read against it. */
type ParsedRecord = RouterOsRecord & { readonly fields: RecordFields };

const NO_RECORD: ParsedRecord = { index: -1, flags: "", fields: new RecordFields(new FieldLayout([]), []) };

/** The pair being read; the last pair of a line stays here because the next line may continue it. */
interface Pair {
  /** Undefined when no pair is being read. */
  key: string | undefined;
  quoted: boolean;
  /** A quoted value whose closing quote has not been read yet. */
  open: boolean;
  /** The last character read inside the open quote was an escaping backslash. */
  escapePending: boolean;
  /** The span holds a backslash (quoted) or whitespace (bare): its value is more than the text as printed. */
  decode: boolean;
  /** While the value lies on one line: its text as printed (inside the quotes, escapes not yet decoded). */
  start: number;
  end: number;
  /** Once the value spans lines: the parts joined; the span is then unused. */
  joined: string | undefined;
}

interface RecordInProgress {
  readonly text: string;
  /** Offset of the record's first line in the text. */
  readonly start: number;
  readonly index: number;
  readonly flags: string;
  /** Column just after the index digits: a line indented less than this that starts with digits is the next record. */
  readonly indexEnd: number;
  /** Column where this record's content starts; continuation lines are indented to it. */
  indent: number | undefined;
  comment: string | undefined;
  /**
   * The record before this one. Records in a listing mostly print the same keys, flags and many of the same
   * values (`no`, `512`) as the one before, so this one reuses that record's strings and key layout where
   * they are equal instead of keeping copies of its own.
   */
  readonly previous: ParsedRecord;
  /** Keys of the completed pairs once they differ from `previous`'s; until then they are its first `values.length` keys. */
  keys: string[] | undefined;
  readonly values: string[];
  readonly pair: Pair;
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

/** A record being skipped after an error: its lines run to the next index line or blank line. */
interface SkippedRecord {
  readonly index: number | undefined;
  readonly start: number;
  readonly indexEnd: number;
  readonly reason: string;
}

/**
 * The records that can be read, and those that cannot, each with its text. An error inside a record
 * (a broken key, a quote that never ends, a key seen twice) ends that record only: the lines up to the
 * next record's index line (or a blank line) belong to it. The text is scanned in place: a line is
 * `text[start, end)` (without its line break), never a string of its own.
 */
export function readPrintOutput(output: string): PrintOutput {
  const records: ParsedRecord[] = [];
  const unreadable: UnreadableRecord[] = [];
  let current: RecordInProgress | undefined;
  let skipped: SkippedRecord | undefined;
  let lastEnd = 0;
  let inLegend = false;
  const endRecord = (): void => {
    if (current) {
      try {
        records.push(finish(current));
      } catch (err) {
        unreadable.push({ index: current.index, text: output.slice(current.start, lastEnd), reason: reasonOf(err) });
      }
    } else if (skipped) {
      unreadable.push({ ...(skipped.index !== undefined ? { index: skipped.index } : {}), text: output.slice(skipped.start, lastEnd), reason: skipped.reason });
    }
    current = undefined;
    skipped = undefined;
  };
  for (let start = 0; start <= output.length; ) {
    let newline = output.indexOf("\n", start);
    if (newline < 0) newline = output.length;
    const end = newline > start && output.charCodeAt(newline - 1) === 13 /* \r */ ? newline - 1 : newline;
    let spaces = start;
    while (spaces < end && output.charCodeAt(spaces) === 32) spaces++;
    const leading = skipWhitespace(output, spaces, end);
    if (leading === end) {
      endRecord();
      inLegend = false;
    } else {
      const index = indexLine(output, start, spaces, end);
      const open = current ?? skipped;
      if (index && (!open || index.indent < open.indexEnd)) {
        endRecord();
        inLegend = false;
        try {
          current = startRecord(output, start, end, index, records.at(-1) ?? NO_RECORD);
        } catch (err) {
          skipped = { index: index.value, start, indexEnd: index.end, reason: reasonOf(err) };
        }
      } else if (current) {
        try {
          continueRecord(current, start, leading, end);
        } catch (err) {
          skipped = { index: current.index, start: current.start, indexEnd: current.indexEnd, reason: reasonOf(err) };
          current = undefined;
        }
      } else if (skipped) {
        // A line of a record already found unreadable.
      } else if (records.length === 0 && unreadable.length === 0 && output.startsWith("Flags:", start)) {
        inLegend = true;
      } else if (!inLegend) {
        unreadable.push({
          text: output.slice(start, end),
          reason: `cannot read RouterOS output: unexpected line "${printableExcerpt(output.slice(start, end))}"`,
        });
      }
      lastEnd = end;
    }
    start = newline + 1;
  }
  endRecord();
  return { records, unreadable };
}

/** Only the parser's own refusals make a record unreadable; anything else is a bug and propagates. */
function reasonOf(err: unknown): string {
  if (err instanceof InternalError) return err.message;
  throw err;
}

function startRecord(text: string, lineStart: number, lineEnd: number, index: IndexLine, previous: ParsedRecord): RecordInProgress {
  let flags = "";
  let pos = skipWhitespace(text, lineStart + index.end, lineEnd);
  for (let end = flagEnd(text, pos, lineEnd); end > pos; end = flagEnd(text, pos, lineEnd)) {
    flags += text.slice(pos, end);
    pos = skipWhitespace(text, end, lineEnd);
  }
  const record: RecordInProgress = {
    text,
    start: lineStart,
    index: index.value,
    flags: flags === previous.flags ? previous.flags : flags,
    indexEnd: index.end,
    indent: undefined,
    comment: undefined,
    previous,
    keys: undefined,
    values: [],
    pair: { key: undefined, quoted: false, open: false, escapePending: false, decode: false, start: 0, end: 0, joined: undefined },
  };
  // The index and flags count as indentation, so the rest reads like any other indented line.
  if (pos < lineEnd) continueRecord(record, lineStart, pos, lineEnd);
  return record;
}

/** Reads one more line of a record from `leading`, its first character after the indentation (the index and flags count as indentation). */
function continueRecord(record: RecordInProgress, lineStart: number, leading: number, lineEnd: number): void {
  const text = record.text;
  record.indent ??= leading - lineStart;
  const key = keyAt(record, leading, lineEnd);
  const startsWithPair = key !== undefined;
  // Only the layout's indentation is removed from a continued value: spaces beyond it belong to the value.
  const bodyStart = lineStart + Math.min(leading - lineStart, record.indent);
  const pair = record.pair;
  const reading = pair.key !== undefined;

  if (reading && pair.open) {
    const end = readQuoted(record, bodyStart, lineEnd);
    if (!pair.open) readPairsAfterQuote(record, end, lineEnd);
  } else if (!reading && record.comment === undefined && text.startsWith(COMMENT_MARK, leading)) {
    const commentStart = leading + COMMENT_MARK.length;
    record.comment = text.slice(text.charCodeAt(commentStart) === 32 && commentStart < lineEnd ? commentStart + 1 : commentStart, lineEnd);
  } else if (!reading && record.comment !== undefined && !startsWithPair) {
    record.comment += text.slice(bodyStart, lineEnd);
  } else if (startsWithPair) {
    readPairsFrom(record, leading, key, lineEnd);
  } else if (reading && !pair.quoted && isBlankValue(record) && text.charCodeAt(leading) === 34 /* " */) {
    // The break fell right after `key=`: the value that follows may be quoted.
    startQuoted(record, leading, lineEnd);
  } else if (reading && !pair.quoted) {
    const head = rawValue(record);
    const nextKey = readBareValue(record, bodyStart, lineEnd);
    pair.joined = joinBrokenValue(head, text.slice(pair.start, pair.end));
    if (nextKey !== undefined) readPairsFrom(record, skipWhitespace(text, pair.end, lineEnd), nextKey, lineEnd);
  } else {
    throw unreadable(record, leading, lineEnd);
  }
}

/** Reads `key=value` pairs from `pos` to the end of the line; a quoted value may stay open for the next line. */
function readPairs(record: RecordInProgress, pos: number, lineEnd: number): void {
  const keyStart = skipWhitespace(record.text, pos, lineEnd);
  if (keyStart < lineEnd) readPairsFrom(record, keyStart, keyAt(record, keyStart, lineEnd), lineEnd);
}

/** Like readPairs, from a key already read (undefined when the text at `keyStart` is no key). */
function readPairsFrom(record: RecordInProgress, keyStart: number, key: string | undefined, lineEnd: number): void {
  const text = record.text;
  for (;;) {
    if (key === undefined) throw unreadable(record, keyStart, lineEnd);
    startPair(record, key);
    const valueStart = keyStart + key.length + 1;
    if (valueStart < lineEnd && text.charCodeAt(valueStart) === 34 /* " */) {
      startQuoted(record, valueStart, lineEnd);
      return;
    }
    key = readBareValue(record, valueStart, lineEnd);
    if (key === undefined) return;
    keyStart = skipWhitespace(text, record.pair.end, lineEnd);
  }
}

/** Completes the pair being read, if any, and starts reading the pair of `key`. */
function startPair(record: RecordInProgress, key: string): void {
  const pair = record.pair;
  if (pair.key !== undefined) complete(record);
  if (record.keys === undefined) {
    const previousKeys = record.previous.fields.layout.keys;
    if (key !== previousKeys[record.values.length]) record.keys = previousKeys.slice(0, record.values.length);
  }
  pair.key = key;
  pair.quoted = false;
  pair.open = false;
  pair.escapePending = false;
  pair.decode = false;
  pair.joined = undefined;
}

/**
 * The key of the `key=` at `pos`, or undefined when there is none. While this record's keys are the
 * record before's, the key expected next is checked first: one pass over the text and nothing copied.
 */
function keyAt(record: RecordInProgress, pos: number, lineEnd: number): string | undefined {
  const text = record.text;
  if (record.keys === undefined) {
    const next = record.values.length + (record.pair.key === undefined ? 0 : 1);
    const expected = record.previous.fields.layout.keys[next];
    if (expected !== undefined) {
      const equals = pos + expected.length;
      if (equals < lineEnd && text.charCodeAt(equals) === 61 /* = */ && isTextAt(text, pos, equals, expected)) return expected;
    }
  }
  const equals = pairKeyEnd(text, pos, lineEnd);
  return equals < 0 ? undefined : text.slice(pos, equals);
}

/** `text[pos]` is the opening quote of the pair's value; reads it and any pairs after it on this line. */
function startQuoted(record: RecordInProgress, pos: number, lineEnd: number): void {
  const pair = record.pair;
  pair.quoted = true;
  pair.open = true;
  pair.escapePending = false;
  pair.decode = false;
  pair.start = pos + 1;
  pair.end = pos + 1;
  pair.joined = undefined;
  const end = readQuoted(record, pos + 1, lineEnd);
  if (!pair.open) readPairsAfterQuote(record, end, lineEnd);
}

/** A closing quote ends its pair: what follows must be whitespace, then the next pairs. */
function readPairsAfterQuote(record: RecordInProgress, pos: number, lineEnd: number): void {
  if (pos < lineEnd && !isSpace(record.text.charCodeAt(pos))) throw unreadable(record, pos, lineEnd);
  readPairs(record, pos, lineEnd);
}

/** Appends quoted text from `pos` up to the closing quote; returns the position after it (or the line's end). */
function readQuoted(record: RecordInProgress, pos: number, lineEnd: number): number {
  const text = record.text;
  const pair = record.pair;
  let escapePending = pair.escapePending;
  let at = pos;
  if (escapePending && at < lineEnd) {
    escapePending = false;
    at++;
  }
  while (at < lineEnd) {
    const code = text.charCodeAt(at);
    if (code === 34 /* " */) {
      appendValue(record, pos, at);
      pair.open = false;
      pair.escapePending = false;
      return at + 1;
    }
    if (code === 92 /* \ */) {
      pair.decode = true;
      // A backslash at the very end of the line: the character it escapes is on the next line.
      if (at + 1 >= lineEnd) {
        escapePending = true;
        break;
      }
      at += 2;
    } else {
      at++;
    }
  }
  appendValue(record, pos, lineEnd);
  pair.escapePending = escapePending;
  return lineEnd;
}

/** Adds `text[start, end)` to the value being read: a value on one line stays a span of the text. */
function appendValue(record: RecordInProgress, start: number, end: number): void {
  const pair = record.pair;
  if (pair.joined !== undefined) {
    pair.joined += record.text.slice(start, end);
  } else if (pair.start === pair.end) {
    pair.start = start;
    pair.end = end;
  } else {
    pair.joined = record.text.slice(pair.start, pair.end) + record.text.slice(start, end);
  }
}

/** The value read so far, as printed. */
function rawValue(record: RecordInProgress): string {
  const pair = record.pair;
  return pair.joined ?? record.text.slice(pair.start, pair.end);
}

function isBlankValue(record: RecordInProgress): boolean {
  const pair = record.pair;
  return pair.joined === undefined ? skipWhitespace(record.text, pair.start, pair.end) === pair.end : pair.joined.trim() === "";
}

/**
 * Reads a bare value from `pos`: it runs until whitespace that is followed by the next `key=` (grouped
 * numbers hold spaces). Returns that key (it starts after the value's end and the whitespace), or
 * undefined when the value runs to the end of the line.
 */
function readBareValue(record: RecordInProgress, pos: number, lineEnd: number): string | undefined {
  const text = record.text;
  const pair = record.pair;
  pair.start = pos;
  pair.decode = false;
  for (let at = pos; at < lineEnd; at++) {
    if (!isSpace(text.charCodeAt(at))) continue;
    const next = skipWhitespace(text, at, lineEnd);
    const key = next < lineEnd ? keyAt(record, next, lineEnd) : undefined;
    if (key !== undefined) {
      pair.end = at;
      return key;
    }
    pair.decode = true;
    at = next - 1;
  }
  pair.end = lineEnd;
  return undefined;
}

function complete(record: RecordInProgress): void {
  const pair = record.pair;
  const key = pair.key!;
  if (pair.open) {
    throw new InternalError(`cannot read RouterOS record ${record.index}: the quoted value of "${key}" never ends`);
  }
  if (record.keys !== undefined) {
    if (record.keys.includes(key)) {
      throw new InternalError(`cannot read RouterOS record ${record.index}: field "${key}" appears twice`);
    }
    record.keys.push(key);
  }
  const before = record.keys === undefined ? record.previous.fields.valueAt(record.values.length) : undefined;
  record.values.push(pairValue(record, before));
  pair.key = undefined;
}

/** The pair's value unquoted and unescaped, or grouped digits joined; `before` when it reads the same. */
function pairValue(record: RecordInProgress, before: string | undefined): string {
  const { text, pair } = record;
  let value: string;
  if (pair.joined !== undefined) {
    value = pair.quoted ? unescapeQuoted(pair.joined) : bareValue(pair.joined);
  } else if (pair.decode) {
    const raw = text.slice(pair.start, pair.end);
    value = pair.quoted ? unescapeQuoted(raw) : bareValue(raw);
  } else if (before !== undefined && isTextAt(text, pair.start, pair.end, before)) {
    return before;
  } else {
    return text.slice(pair.start, pair.end);
  }
  return value === before ? before : value;
}

function finish(record: RecordInProgress): ParsedRecord {
  if (record.pair.key !== undefined) complete(record);
  const fields = new RecordFields(layoutOf(record), record.values);
  if (record.comment === undefined) return { index: record.index, flags: record.flags, fields };
  const comment = record.comment.trim();
  return { index: record.index, flags: record.flags, comment: comment === record.previous.comment ? record.previous.comment : comment, fields };
}

function layoutOf(record: RecordInProgress): FieldLayout {
  if (record.keys !== undefined) return new FieldLayout(record.keys);
  const previous = record.previous.fields.layout;
  return record.values.length === previous.keys.length ? previous : new FieldLayout(previous.keys.slice(0, record.values.length));
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

/** Most bare values hold no space at all; only those that do can be grouped numbers or need trimming. */
function bareValue(raw: string): string {
  return /\s/.test(raw) ? withoutThousandsSeparators(raw.trim()) : raw;
}

// RouterOS string escapes (manual, "Constant Escape Sequences"); `\HH` is one byte, upper-case hex.
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  $: "$",
  "?": "?",
  _: " ",
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};
const ESCAPE = /\\(?:([0-9A-F]{2})|([\s\S]))/g;

/**
 * Decodes backslash escapes. `\HH` bytes are collected with the literal text and decoded as UTF-8 together,
 * since a non-ASCII character arrives as several escaped bytes. An escape RouterOS does not document keeps
 * the escaped character: it can only occur in free text (a model name, a comment), never in the slots,
 * paths and NQNs the driver acts on, so it is not worth failing a whole listing over.
 */
function unescapeQuoted(raw: string): string {
  if (!raw.includes("\\")) return raw;
  const chunks: Buffer[] = [];
  let last = 0;
  for (const escape of raw.matchAll(ESCAPE)) {
    chunks.push(Buffer.from(raw.slice(last, escape.index), "utf8"));
    const [, hex, char] = escape;
    chunks.push(hex ? Buffer.from([Number.parseInt(hex, 16)]) : Buffer.from(ESCAPES[char!] ?? char!, "utf8"));
    last = escape.index + escape[0].length;
  }
  chunks.push(Buffer.from(raw.slice(last), "utf8"));
  return Buffer.concat(chunks).toString("utf8");
}

// The scanning helpers below walk char codes instead of running regexes: a 10,000-disk listing has a
// quarter of a million values, and per-value match objects made parsing garbage-bound.
function skipWhitespace(text: string, pos: number, end: number): number {
  while (pos < end && isSpace(text.charCodeAt(pos))) pos++;
  return pos;
}

/**
 * Whether `text[start, end)` reads `expected`. The last characters are checked first, since values that
 * differ from the record before (names, numbered paths) mostly differ there; the rest is compared as whole
 * strings, which the engine does natively, where a loop in JS costs two char-code reads per character.
 */
function isTextAt(text: string, start: number, end: number, expected: string): boolean {
  const length = end - start;
  if (expected.length !== length) return false;
  return length === 0 || (text.charCodeAt(end - 1) === expected.charCodeAt(length - 1) && text.slice(start, end) === expected);
}

function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || code === 0xfeff || (code >= 0x2000 && (code <= 0x200a || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000)) || code === 0x1680;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** The position of the `=` ending a key that starts at `pos` (a lower-case letter, then letters, digits and dashes), or -1. */
function pairKeyEnd(text: string, pos: number, lineEnd: number): number {
  const first = text.charCodeAt(pos);
  if (!(pos < lineEnd && first >= 97 && first <= 122)) return -1;
  for (let at = pos + 1; at < lineEnd; at++) {
    const code = text.charCodeAt(at);
    if (code === 61) return at;
    if (!((code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 45)) return -1;
  }
  return -1;
}

function unreadable(record: RecordInProgress, start: number, end: number): InternalError {
  return new InternalError(`cannot read RouterOS record ${record.index}: unexpected "${printableExcerpt(record.text.slice(start, end))}"`);
}
