import { printableExcerpt } from "./printable-excerpt.js";
import { isWholeNumber, withoutThousandsSeparators } from "./spaced-number.js";

/**
 * Reads the `key=value` pairs of one RouterOS record (docs/design/routeros-protocol.md, "Output"): a key
 * is a lower-case letter then letters, digits and dashes; a value is quoted (`"…"` with backslash escapes,
 * then whitespace or the end) or bare (it runs until whitespace followed by the next `key=`, so grouped
 * numbers and `print terse` strings may hold spaces); pairs are separated by whitespace.
 *
 * The text is fed in pieces (`scan`), so the wrapped-record reader can try a line break joined with and
 * without a space from the same state (`clone`). `strict` is for text joined from several lines, where a
 * wrong join must not read as a valid record: a bare value then holds no `"` or `=` (RouterOS prints such
 * a value quoted), a space only as a grouped number or a file's type or timestamp (BARE_WITH_SPACES), and a
 * space the reader joined a break with (`joinedSpaceAt`) only where the `words` layout breaks.
 */

const GAP = 0; // between pairs
const KEY = 1;
const VALUE_START = 2; // just after `=`
const BARE = 3;
const BARE_GAP = 4; // whitespace inside a bare value: the next word may be a key
const BARE_WORD = 5; // a word after such whitespace: a key if `=` follows, else more of the value
const QUOTED = 6;
const QUOTED_ESCAPE = 7;
const AFTER_QUOTE = 8;
const FAILED = 9;

export class PairScanner {
  readonly strict: boolean;
  keys: string[] = [];
  values: string[] = [];
  /** Why the text cannot be read, once it cannot; unexpected text is kept as such, since most readings tried die and their message is rarely asked for. */
  #reason: string | undefined;
  #unexpected: string | undefined;
  #phase = GAP;
  #keyStart = 0;
  #valueStart = 0;
  #valueEnd = 0;
  #wordStart = 0;
  /** Offset of the first space a line break was joined with in the value being read (-1: none): inside a bare value it may only separate digit groups. */
  #joinedSpace = -1;
  /** Whether the pair read when that space was joined began at or before the start of the line it ended. */
  #joinedOnOwnLine = false;
  /** The value holds a backslash (quoted) or whitespace (bare): it is more than its text as printed. */
  #decode = false;

  constructor(strict: boolean) {
    this.strict = strict;
  }

  clone(): PairScanner {
    const copy = new PairScanner(this.strict);
    copy.keys = this.keys.slice();
    copy.values = this.values.slice();
    copy.#reason = this.#reason;
    copy.#unexpected = this.#unexpected;
    copy.#phase = this.#phase;
    copy.#keyStart = this.#keyStart;
    copy.#valueStart = this.#valueStart;
    copy.#valueEnd = this.#valueEnd;
    copy.#wordStart = this.#wordStart;
    copy.#joinedSpace = this.#joinedSpace;
    copy.#joinedOnOwnLine = this.#joinedOnOwnLine;
    copy.#decode = this.#decode;
    return copy;
  }

  /**
   * Forgets the text before what the pair being read still needs (its key, or its value) so a record
   * read over many lines does not carry all of them: returns how many characters of `text` (of length
   * `end`) can go; every offset kept is moved down by as many.
   */
  rebase(end: number): number {
    const phase = this.#phase;
    const cut = phase === KEY ? this.#keyStart : phase >= BARE && phase <= QUOTED_ESCAPE ? this.#valueStart : end;
    this.#keyStart -= cut;
    this.#valueStart -= cut;
    this.#valueEnd -= cut;
    this.#wordStart -= cut;
    this.#joinedSpace -= cut;
    return cut;
  }

  /** Why the text cannot be read; undefined while it can. */
  get failure(): string | undefined {
    return this.#reason ?? (this.#unexpected === undefined ? undefined : `unexpected "${printableExcerpt(this.#unexpected)}"`);
  }

  /** Inside a quoted value: no wrap drops a space there, so a break may only be joined as printed. */
  get inQuotes(): boolean {
    return this.#phase === QUOTED || this.#phase === QUOTED_ESCAPE;
  }

  /**
   * The space at `text[at]` was not printed: the reader joined a line break with it; the line that ended
   * there started at `lineStart`. Inside a bare value that space is a `words` break, which falls only in a
   * pair longer than a line (so the pair began at or before that line's start) and at a space such a value
   * can hold: between digit groups, or in the few values RouterOS prints bare with a space (`type=.img
   * file`, `last-modified=2026-11-26 10:00:00` in `/file`; MikroTik manual "Files").
   */
  joinedSpaceAt(at: number, lineStart: number): void {
    // The value being read completes later, maybe after more breaks: the first joined space in it counts.
    if (this.#joinedSpace >= this.#valueStart && this.#phase !== GAP && this.#phase !== AFTER_QUOTE && this.#phase !== VALUE_START) return;
    this.#joinedSpace = at;
    this.#joinedOnOwnLine = this.#keyStart <= lineStart;
  }

  /** Reads `text[from, to)`, continuing from where the last call stopped; false once the text cannot be read. */
  scan(text: string, from: number, to: number): boolean {
    for (let at = from; at < to; at++) {
      const code = text.charCodeAt(at);
      switch (this.#phase) {
        case GAP:
          if (isSpace(code)) break;
          if (!isKeyStart(code)) return this.#unexpectedAt(text, at, to);
          this.#phase = KEY;
          this.#keyStart = at;
          break;
        case KEY:
          if (isKeyChar(code)) break;
          if (code !== 61 /* = */) return this.#unexpectedAt(text, this.#keyStart, to);
          if (!this.#startValue(text, at)) return false;
          break;
        case VALUE_START:
          this.#decode = false;
          if (code === 34 /* " */) {
            this.#phase = QUOTED;
            this.#valueStart = at + 1;
          } else if (isSpace(code)) {
            this.values.push("");
            this.#phase = GAP;
          } else {
            if (this.strict && code === 61) return this.#unexpectedAt(text, at, to);
            this.#phase = BARE;
            this.#valueStart = at;
            this.#valueEnd = at + 1;
          }
          break;
        case BARE:
          if (isSpace(code)) {
            this.#phase = BARE_GAP;
          } else {
            if (this.strict && (code === 34 || code === 61)) return this.#unexpectedAt(text, at, to);
            this.#valueEnd = at + 1;
          }
          break;
        case BARE_GAP:
          if (isSpace(code)) break;
          if (isKeyStart(code)) {
            this.#phase = BARE_WORD;
            this.#wordStart = at;
            break;
          }
          if (this.strict && (code === 34 || code === 61)) return this.#unexpectedAt(text, at, to);
          this.#decode = true;
          this.#phase = BARE;
          this.#valueEnd = at + 1;
          break;
        case BARE_WORD:
          if (isKeyChar(code)) break;
          if (code === 61) {
            if (!this.#pushBare(text)) return false;
            this.#keyStart = this.#wordStart;
            if (!this.#startValue(text, at)) return false;
          } else if (isSpace(code)) {
            this.#decode = true;
            this.#valueEnd = at;
            this.#phase = BARE_GAP;
          } else {
            if (this.strict && code === 34) return this.#unexpectedAt(text, at, to);
            this.#decode = true;
            this.#valueEnd = at + 1;
            this.#phase = BARE;
          }
          break;
        case QUOTED:
          if (code === 34) {
            const raw = text.slice(this.#valueStart, at);
            this.values.push(this.#decode ? unescapeQuoted(raw) : raw);
            this.#phase = AFTER_QUOTE;
          } else if (code === 92 /* \ */) {
            this.#decode = true;
            this.#phase = QUOTED_ESCAPE;
          }
          break;
        case QUOTED_ESCAPE:
          this.#phase = QUOTED;
          break;
        case AFTER_QUOTE:
          if (!isSpace(code)) return this.#unexpectedAt(text, at, to);
          this.#phase = GAP;
          break;
        default:
          return false;
      }
    }
    return true;
  }

  /** The text ends at `end`: completes the last pair; false when the text cannot be read. */
  finish(text: string, end: number): boolean {
    switch (this.#phase) {
      case KEY:
        return this.#unexpectedAt(text, this.#keyStart, end);
      case VALUE_START:
        this.values.push("");
        return true;
      case BARE_WORD:
        this.#decode = true;
        this.#valueEnd = end;
        return this.#pushBare(text);
      case BARE:
      case BARE_GAP:
        return this.#pushBare(text);
      case QUOTED:
      case QUOTED_ESCAPE:
        return this.#fail(`the quoted value of "${this.keys.at(-1)!}" never ends`);
      case FAILED:
        return false;
      default:
        return true;
    }
  }

  /** `text[keyStart, equals)` is a key: checks it and starts reading its value. */
  #startValue(text: string, equals: number): boolean {
    const key = text.slice(this.#keyStart, equals);
    if (this.keys.includes(key)) return this.#fail(`field "${key}" appears twice`);
    this.keys.push(key);
    this.#phase = VALUE_START;
    return true;
  }

  #pushBare(text: string): boolean {
    const raw = text.slice(this.#valueStart, this.#valueEnd);
    if (!this.#decode) {
      this.values.push(raw);
      return true;
    }
    const value = raw.trim();
    const number = DIGITS_AND_SPACES.test(value);
    if (this.strict && number && !isWholeNumber(value)) {
      return this.#fail(`the value of "${this.keys.at(-1)!}" is digits and spaces but no number: "${printableExcerpt(value)}"`);
    }
    const key = this.keys.at(-1)!;
    const spaced = number || BARE_WITH_SPACES[key]?.test(value) === true;
    if (this.strict && !spaced) return this.#fail(`the bare value of "${key}" holds a space: "${printableExcerpt(value)}"`);
    if (this.#joinedSpace > this.#valueStart && this.#joinedSpace < this.#valueEnd && !(number || this.#joinedOnOwnLine)) {
      return this.#fail(`a line break inside the value of "${key}" cannot have been a space`);
    }
    this.values.push(withoutThousandsSeparators(value));
    return true;
  }

  #unexpectedAt(text: string, from: number, to: number): false {
    // No more than the message quotes (printableExcerpt shows 80 characters) is kept.
    if (this.#reason === undefined && this.#unexpected === undefined) this.#unexpected = text.slice(from, Math.min(to, from + 200));
    this.#phase = FAILED;
    return false;
  }

  #fail(reason: string): false {
    if (this.#unexpected === undefined) this.#reason ??= reason;
    this.#phase = FAILED;
    return false;
  }
}

const DIGITS_AND_SPACES = /^\d[\d ]*$/;
/**
 * The values RouterOS prints bare although they hold a space, by key: a file's type named after its
 * extension and its timestamps (`type=.img file`, `last-modified=2026-11-26 10:00:00`; MikroTik manual
 * "Files"). Any other bare value with a space, read from several lines, is a wrong join.
 */
const BARE_WITH_SPACES: Readonly<Record<string, RegExp>> = Object.assign(Object.create(null) as Record<string, RegExp>, {
  type: /^\S+ file$/,
  "last-modified": /^\S+ \d{1,2}:\d{2}:\d{2}$/,
  "creation-time": /^\S+ \d{1,2}:\d{2}:\d{2}$/,
});

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

export function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || code === 0xfeff || (code >= 0x2000 && (code <= 0x200a || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000)) || code === 0x1680;
}

function isKeyStart(code: number): boolean {
  return code >= 97 && code <= 122;
}

function isKeyChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 45;
}
