import { syntaxError } from "./routeros-error.js";

/**
 * `word`: bare text (`/disk`, `print`, `file-size`, `/raid10/x.img`); `string`: a double-quoted string,
 * already decoded; `separator`: `;` or a line break, where RouterOS would start another command.
 */
export type TokenKind = "word" | "string" | "=" | "~" | "[" | "]" | "separator";

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** 1-based column of the token's first character, as RouterOS counts it in error messages */
  readonly column: number;
}

// Characters RouterOS gives a meaning we do not simulate (variables, scripts, comparisons, grouping):
// outside quotes they are a syntax error rather than silently part of a word.
const RESERVED = new Set(["{", "}", "(", ")", "$", "\\", "!", "<", ">"]);
const SINGLE = new Set(["=", "~", "[", "]"]);

/**
 * Splits one console line into tokens; `endColumn` is where RouterOS points when the input ends too
 * early. Throws `syntax error` for an unterminated string, an unknown escape or a reserved character.
 * Trailing blanks and line breaks are ignored; a `;` or a line break followed by more text becomes a
 * `separator` token, which the parser refuses, so a second command is never executed.
 */
export function tokenize(line: string): { readonly tokens: Token[]; readonly endColumn: number } {
  const text = line.replace(/\s+$/u, "");
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    const column = i + 1;
    if (ch === " " || ch === "\t") {
      i += 1;
    } else if (ch === ";" || ch === "\n" || ch === "\r") {
      tokens.push({ kind: "separator", text: ch, column });
      i += 1;
    } else if (SINGLE.has(ch)) {
      tokens.push({ kind: ch as TokenKind, text: ch, column });
      i += 1;
    } else if (ch === '"') {
      const { value, end } = readQuoted(text, i);
      tokens.push({ kind: "string", text: value, column });
      i = end;
    } else {
      const start = i;
      while (i < text.length && isWordCharacter(text[i]!)) i += 1;
      if (i === start) throw syntaxError(column);
      tokens.push({ kind: "word", text: text.slice(start, i), column });
    }
  }
  return { tokens, endColumn: text.length + 1 };
}

function isWordCharacter(ch: string): boolean {
  const code = ch.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f) return false;
  return !(ch === " " || ch === '"' || ch === ";" || SINGLE.has(ch) || RESERVED.has(ch));
}

// MikroTik manual, "Scripting", Constant Escape Sequences: \" \\ \n \r \t \$ \? \_ (space) \a \b \f \v, and
// \xx, "print a character from hex input; hex values should use capital letters".
const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  "\\": 0x5c,
  '"': 0x22,
  $: 0x24,
  "?": 0x3f,
  _: 0x20,
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
};

/**
 * Decodes a double-quoted string starting at `open` (the quote). Escapes produce bytes, and the bytes
 * are read as UTF-8 at the end, because the driver writes a non-ASCII character as its UTF-8 bytes
 * (`\C3\A9` for é). As strict as RouterOS: inside quotes an unescaped `$` starts a variable
 * substitution and `?` asks for help ("Scripting": both have escapes because they mean something); the
 * simulator has no variables, so either is a syntax error, and a lower-case hex escape (`\c3`) is one
 * too. A quoting mistake in the driver therefore fails here instead of passing.
 */
function readQuoted(text: string, open: number): { value: string; end: number } {
  const bytes: number[] = [];
  let i = open + 1;
  while (i < text.length) {
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    if (ch === '"') return { value: Buffer.from(bytes).toString("utf8"), end: i + 1 };
    if (ch === "$" || ch === "?") throw syntaxError(i + 1);
    if (ch !== "\\") {
      bytes.push(...Buffer.from(ch, "utf8"));
      i += ch.length;
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) break;
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      bytes.push(simple);
      i += 2;
    } else if (/^[0-9A-F]{2}$/u.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      throw syntaxError(i + 1);
    }
  }
  // Unterminated: RouterOS gives up where the line ends.
  throw syntaxError(text.length + 1);
}
