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
