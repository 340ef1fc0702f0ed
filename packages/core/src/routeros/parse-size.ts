import { InternalError } from "../errors.js";
import { printableExcerpt } from "./printable-excerpt.js";
import { isWholeNumber } from "./spaced-number.js";

/**
 * Reads an exact byte count from RouterOS output: plain digits or digits grouped by thousands
 * (`10 737 418 240` → 10737418240n). Rounded human sizes such as `file-size=10.0GiB` are refused: an
 * exact size compared with a rounded one is how the earlier driver got equality checks wrong. `what`
 * names the field being read, for the message.
 */
export function parseExactBytes(text: string, what: string): bigint {
  if (!isWholeNumber(text)) {
    throw new InternalError(`${what} is not an exact byte count: "${printableExcerpt(text)}"`);
  }
  return BigInt(text.replaceAll(" ", ""));
}

const BINARY_UNIT_POWER: Readonly<Record<string, bigint>> = { B: 0n, KiB: 1n, MiB: 2n, GiB: 3n, TiB: 4n, PiB: 5n, EiB: 6n };
const ROUNDED = /^(\d+)(?:\.(\d))?(B|KiB|MiB|GiB|TiB|PiB|EiB)$/;

/**
 * Reads a size RouterOS may print rounded: RouterOS 7's `/file print` shows `size=1924.1KiB`,
 * `size=11.1MiB`, `size=0` (MikroTik manual, "Files"), and `file-size=` on a disk is rounded the same way.
 * Whole numbers (grouped or not) are read exactly, rounded ones to the nearest byte of what is printed.
 * The result is for reports only: a decision (equality, growth, free space) never rests on it.
 */
export function parseApproximateBytes(text: string, what: string): bigint {
  if (isWholeNumber(text)) return BigInt(text.replaceAll(" ", ""));
  const rounded = ROUNDED.exec(text);
  if (!rounded) throw new InternalError(`${what} is not a size: "${printableExcerpt(text)}"`);
  const [, whole, tenth = "0", unit] = rounded;
  return ((BigInt(whole!) * 10n + BigInt(tenth)) * 1024n ** BINARY_UNIT_POWER[unit!]!) / 10n;
}
