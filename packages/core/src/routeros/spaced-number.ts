/**
 * RouterOS prints exact counts with a space between thousands (`size=10 737 418 240`), and a terminal
 * wrap may fall on one of those spaces. These helpers are the one place that knows this grammar; the
 * output parsers use them to join and normalize values, parse-size.ts to read them.
 */

const PLAIN = /^\d+$/;
const SPACED = /^\d{1,3}(?: \d{3})+$/;
/** A whole number, or the start of one that was cut inside its last digit group. */
const NUMBER_OR_PREFIX = /^(?:\d+|\d{1,3}(?: \d{3})*(?: \d{1,3})?)$/;
const DIGITS_AND_SPACES = /^\d[\d ]*$/;

/** Plain digits or correctly grouped thousands: `10737418240`, `10 737 418 240`. */
export function isWholeNumber(text: string): boolean {
  return PLAIN.test(text) || SPACED.test(text);
}

/** `10 737 418 240` becomes `10737418240`; anything that is not a grouped number is returned as is. */
export function withoutThousandsSeparators(value: string): string {
  return SPACED.test(value) ? value.replaceAll(" ", "") : value;
}

/**
 * Joins the two halves of a value that the terminal broke across lines. A break inside a value adds no
 * character, so the halves are concatenated as they are — except a grouped number may also be broken
 * at one of its separator spaces with the space dropped (`10 737` + `418 240`). When both halves are
 * digits and spaces, we concatenate if that still reads as a number (or the start of one) and put the
 * space back if only that does. When the right half starts with a full group of three the two readings
 * cannot both be plausible; otherwise (`1` + `23`) the concatenation is kept, as for any other value.
 */
export function joinBrokenValue(head: string, tail: string): string {
  const joined = head + tail;
  if (!DIGITS_AND_SPACES.test(head) || !DIGITS_AND_SPACES.test(tail)) return joined;
  const spaced = `${head} ${tail}`;
  if (!NUMBER_OR_PREFIX.test(joined.trimEnd()) && NUMBER_OR_PREFIX.test(spaced.trimEnd())) return spaced;
  return joined;
}
