import { InternalError } from "../errors.js";
import { printableExcerpt } from "./printable-excerpt.js";
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
 * is an InternalError: the RDS answered something we cannot read.
 */

export interface RouterOsRecord {
  readonly index: number;
  /** Flag letters as printed, e.g. `Bt`, `X`; empty when none. */
  readonly flags: string;
  readonly comment?: string;
  /** Values unquoted and unescaped; bare values as printed, grouped numbers without separators. */
  readonly fields: ReadonlyMap<string, string>;
}

const FLAG_TOKEN = /[A-Za-z]+(?=\s|$)/y;
const QUOTE_OR_BACKSLASH = /["\\]/g;
const COMMENT_MARK = ";;;";

interface Pair {
  readonly key: string;
  /** Text as printed: inside the quotes (escapes not yet decoded) or the bare value. */
  raw: string;
  quoted: boolean;
  /** A quoted value whose closing quote has not been read yet. */
  open: boolean;
  /** The last character read inside the open quote was an escaping backslash. */
  escapePending: boolean;
}

interface RecordInProgress {
  readonly index: number;
  readonly flags: string;
  /** Column just after the index digits: a line indented less than this that starts with digits is the next record. */
  readonly indexEnd: number;
  /** Column where this record's content starts; continuation lines are indented to it. */
  indent: number | undefined;
  comment: string | undefined;
  /** Pairs already complete; the last pair read stays in `last` because the next line may continue it. */
  readonly fields: Map<string, string>;
  last: Pair | undefined;
}

export function parsePrintDetail(output: string): RouterOsRecord[] {
  const records: RouterOsRecord[] = [];
  let current: RecordInProgress | undefined;
  let inLegend = false;
  for (const rawLine of output.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (skipWhitespace(line, 0) === line.length) {
      if (current) records.push(finish(current));
      current = undefined;
      inLegend = false;
      continue;
    }
    const index = indexLine(line);
    if (index && (!current || index.indent < current.indexEnd)) {
      if (current) records.push(finish(current));
      current = startRecord(line, index);
      inLegend = false;
    } else if (current) {
      continueRecord(current, line);
    } else if (records.length === 0 && line.startsWith("Flags:")) {
      inLegend = true;
    } else if (!inLegend) {
      throw new InternalError(`cannot read RouterOS output: unexpected line "${printableExcerpt(line)}"`);
    }
  }
  if (current) records.push(finish(current));
  return records;
}

function startRecord(line: string, index: IndexLine): RecordInProgress {
  const indexEnd = index.end;
  let flags = "";
  let pos = skipWhitespace(line, indexEnd);
  for (;;) {
    FLAG_TOKEN.lastIndex = pos;
    const flag = FLAG_TOKEN.exec(line);
    if (!flag) break;
    flags += flag[0];
    pos = skipWhitespace(line, FLAG_TOKEN.lastIndex);
  }
  const record: RecordInProgress = { index: index.value, flags, indexEnd, indent: undefined, comment: undefined, fields: new Map(), last: undefined };
  // The index and flags count as indentation, so the rest reads like any other indented line.
  if (pos < line.length) continueRecord(record, line, pos);
  return record;
}

/** Reads one more line of a record; columns before `from` (the index and flags) count as indentation. */
function continueRecord(record: RecordInProgress, line: string, from = 0): void {
  const leading = skipWhitespace(line, from);
  record.indent ??= leading;
  const startsWithPair = pairStartsAt(line, leading);
  // Only the layout's indentation is removed from a continued value: spaces beyond it belong to the value.
  const bodyStart = Math.min(leading, record.indent);
  const last = record.last;

  if (last?.open) {
    const end = readQuoted(last, line, bodyStart);
    if (!last.open) readPairsAfterQuote(record, line, end);
  } else if (last === undefined && record.comment === undefined && line.startsWith(COMMENT_MARK, leading)) {
    record.comment = line.slice(leading + COMMENT_MARK.length).replace(/^ /, "");
  } else if (last === undefined && record.comment !== undefined && !startsWithPair) {
    record.comment += line.slice(bodyStart);
  } else if (startsWithPair) {
    readPairs(record, line, leading);
  } else if (last && !last.quoted && last.raw.trim() === "" && line.charCodeAt(leading) === 34 /* " */) {
    // The break fell right after `key=`: the value that follows may be quoted.
    startQuoted(record, last, line, leading);
  } else if (last && !last.quoted) {
    const end = bareValueEnd(line, bodyStart);
    last.raw = joinBrokenValue(last.raw, line.slice(bodyStart, end));
    readPairs(record, line, end);
  } else {
    throw unreadable(record, line.slice(leading));
  }
}

/** Reads `key=value` pairs from `pos` to the end of `text`; a quoted value may stay open for the next line. */
function readPairs(record: RecordInProgress, text: string, pos: number): void {
  for (;;) {
    pos = skipWhitespace(text, pos);
    if (pos >= text.length) return;
    const equals = pairKeyEnd(text, pos);
    if (equals < 0) throw unreadable(record, text.slice(pos));
    const pair: Pair = { key: text.slice(pos, equals), raw: "", quoted: false, open: false, escapePending: false };
    if (record.last) complete(record, record.last);
    record.last = pair;
    pos = equals + 1;
    if (text.charCodeAt(pos) === 34 /* " */) {
      startQuoted(record, pair, text, pos);
      return;
    }
    const end = bareValueEnd(text, pos);
    pair.raw = text.slice(pos, end);
    pos = end;
  }
}

/** `text[pos]` is the opening quote of `pair`'s value; reads it and any pairs after it on this line. */
function startQuoted(record: RecordInProgress, pair: Pair, text: string, pos: number): void {
  pair.quoted = true;
  pair.open = true;
  pair.raw = "";
  const end = readQuoted(pair, text, pos + 1);
  if (!pair.open) readPairsAfterQuote(record, text, end);
}

/** A closing quote ends its pair: what follows must be whitespace, then the next pairs. */
function readPairsAfterQuote(record: RecordInProgress, text: string, pos: number): void {
  if (pos < text.length && !/\s/.test(text[pos]!)) throw unreadable(record, text.slice(pos));
  readPairs(record, text, pos);
}

/** Appends quoted text from `pos` up to the closing quote; returns the position after it (or the end). */
function readQuoted(pair: Pair, text: string, pos: number): number {
  let escaped = pair.escapePending;
  let at = pos;
  if (escaped && at < text.length) {
    escaped = false;
    at++;
  }
  for (;;) {
    QUOTE_OR_BACKSLASH.lastIndex = at;
    const special = QUOTE_OR_BACKSLASH.exec(text);
    if (!special) {
      pair.raw += text.slice(pos);
      pair.escapePending = escaped;
      return text.length;
    }
    if (special[0] === '"') {
      pair.raw += text.slice(pos, special.index);
      pair.open = false;
      pair.escapePending = false;
      return special.index + 1;
    }
    if (special.index + 1 >= text.length) {
      // A backslash at the very end of the line: the character it escapes is on the next line.
      pair.raw += text.slice(pos);
      pair.escapePending = true;
      return text.length;
    }
    at = special.index + 2;
  }
}

/** A bare value runs until whitespace that is followed by the next `key=` (grouped numbers hold spaces). */
function bareValueEnd(text: string, pos: number): number {
  for (let at = pos; at < text.length; at++) {
    if (!isSpace(text.charCodeAt(at))) continue;
    const next = skipWhitespace(text, at);
    if (next < text.length && pairStartsAt(text, next)) return at;
    at = next - 1;
  }
  return text.length;
}

function complete(record: RecordInProgress, pair: Pair): void {
  if (pair.open) {
    throw new InternalError(`cannot read RouterOS record ${record.index}: the quoted value of "${pair.key}" never ends`);
  }
  if (record.fields.has(pair.key)) {
    throw new InternalError(`cannot read RouterOS record ${record.index}: field "${pair.key}" appears twice`);
  }
  record.fields.set(pair.key, pair.quoted ? unescapeQuoted(pair.raw) : bareValue(pair.raw));
}

function finish(record: RecordInProgress): RouterOsRecord {
  if (record.last) complete(record, record.last);
  const fields: ReadonlyMap<string, string> = record.fields;
  return record.comment === undefined
    ? { index: record.index, flags: record.flags, fields }
    : { index: record.index, flags: record.flags, comment: record.comment.trim(), fields };
}

interface IndexLine {
  /** Spaces before the digits (indexes are right-aligned). */
  readonly indent: number;
  /** Column just after the digits. */
  readonly end: number;
  readonly value: number;
}

/** A line that starts with spaces, then digits followed by whitespace or the end: a record's first line. */
function indexLine(line: string): IndexLine | undefined {
  let at = 0;
  while (line.charCodeAt(at) === 32) at++;
  const indent = at;
  while (at < line.length && line.charCodeAt(at) >= 48 && line.charCodeAt(at) <= 57) at++;
  if (at === indent || (at < line.length && !isSpace(line.charCodeAt(at)))) return undefined;
  return { indent, end: at, value: Number(line.slice(indent, at)) };
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
function skipWhitespace(text: string, pos: number): number {
  while (pos < text.length && isSpace(text.charCodeAt(pos))) pos++;
  return pos;
}

function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || code === 0xfeff || (code >= 0x2000 && (code <= 0x200a || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000)) || code === 0x1680;
}

/** Whether `text` holds `key=` at `pos` (a lower-case letter, then letters, digits and dashes, then `=`). */
function pairStartsAt(text: string, pos: number): boolean {
  return pairKeyEnd(text, pos) >= 0;
}

/** The position of the `=` ending a key that starts at `pos`, or -1 when no key starts there. */
function pairKeyEnd(text: string, pos: number): number {
  const first = text.charCodeAt(pos);
  if (!(first >= 97 && first <= 122)) return -1;
  for (let at = pos + 1; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === 61) return at;
    if (!((code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 45)) return -1;
  }
  return -1;
}

function unreadable(record: RecordInProgress, text: string): InternalError {
  return new InternalError(`cannot read RouterOS record ${record.index}: unexpected "${printableExcerpt(text)}"`);
}
