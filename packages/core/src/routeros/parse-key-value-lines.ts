import { InternalError } from "../errors.js";
import { printableExcerpt } from "./printable-excerpt.js";
import { joinBrokenValue, withoutThousandsSeparators } from "./spaced-number.js";

/**
 * The one reader of RouterOS's `key: value` layout (`/disk monitor-traffic … once`, `/system resource
 * print`): one key per line, right-aligned so the colons line up, the value after the colon.
 *
 *                slot: raid10
 *   write-ops-per-second: 76
 *          write-bytes: 515 659 673 600
 *
 * A line that does not start with `key:` continues the previous value (a value wrapped at the terminal
 * width), joined like a wrapped `print detail` value: nothing added, except that a grouped number broken
 * at a separator gets its space back (spaced-number.ts). Grouped numbers are stored without separators.
 * Values are trimmed; a key that appears twice is refused.
 */
export function parseKeyValueLines(output: string): ReadonlyMap<string, string> {
  const values = new Map<string, string>();
  let lastKey: string | undefined;
  // Where the last value started: continuation lines are indented to it, spaces beyond that are content.
  let valueColumn = 0;
  for (const rawLine of output.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === "") continue;
    const pair = KEY_LINE.exec(line);
    if (pair) {
      const key = pair[1]!;
      if (values.has(key)) throw new InternalError(`cannot read RouterOS output: "${key}" appears twice`);
      const value = pair[2] ?? "";
      values.set(key, value);
      valueColumn = line.length - value.length;
      lastKey = key;
    } else if (lastKey !== undefined && /^\s/.test(line)) {
      const leading = line.length - line.trimStart().length;
      values.set(lastKey, joinBrokenValue(values.get(lastKey)!, line.slice(Math.min(leading, valueColumn))));
    } else {
      throw new InternalError(`cannot read RouterOS output: unexpected line "${printableExcerpt(line)}"`);
    }
  }
  for (const [key, value] of values) values.set(key, withoutThousandsSeparators(value.trim()));
  return values;
}

const KEY_LINE = /^\s*([a-z][a-z0-9-]*):(?:\s+(.*))?$/;
