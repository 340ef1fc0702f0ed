/**
 * A short, single-line, printable rendering of text we did not write (a rejected value, a RouterOS
 * error line) for error messages and logs: control and invisible characters are shown as escapes so a
 * message cannot smuggle newlines or terminal sequences, and long text is cut so a 10 KB input does not
 * become a 10 KB error.
 */
export function printableExcerpt(text: string, maxCodePoints = 80): string {
  const codePoints = Array.from(text.length > maxCodePoints * 2 ? text.slice(0, maxCodePoints * 2) : text);
  const shown = codePoints.slice(0, maxCodePoints).map(escapeInvisible).join("");
  const rest = Array.from(text).length - Math.min(codePoints.length, maxCodePoints);
  return rest > 0 ? `${shown}… (${rest} more characters)` : shown;
}

const NAMED_ESCAPES: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

// Control, format, private-use, unassigned and lone-surrogate code points, plus line/paragraph separators.
const INVISIBLE = /^[\p{C}\p{Zl}\p{Zp}]$/u;

function escapeInvisible(char: string): string {
  if (!INVISIBLE.test(char)) return char;
  const named = NAMED_ESCAPES[char];
  if (named) return named;
  return `\\u{${char.codePointAt(0)!.toString(16).toUpperCase()}}`;
}
