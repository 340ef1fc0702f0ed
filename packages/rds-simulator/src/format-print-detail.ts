import type { RecordDraft } from "./record-fields.js";

export interface FlagDefinition {
  readonly letter: string;
  readonly name: string;
}

export interface NumberedRecord extends RecordDraft {
  /** position in the menu's full list, so a filtered print keeps the numbers a full print shows */
  readonly index: number;
}

/** Line ending of the RouterOS console, also over an SSH exec channel. */
export const CRLF = "\r\n";

/**
 * Lays records out as `print detail` does on a terminal `width` columns wide:
 *
 * - a `Flags:` legend naming the flags that occur in the printed records (none: no legend);
 * - each record starts with its index right-aligned (at least two columns), then one column per
 *   legend flag (the letter or a space), then either `;;; comment` on that line with the fields
 *   from the next line, or the first fields;
 * - fields fill lines up to `width`; a field that does not fit goes to a continuation line indented
 *   under the first field; a field longer than a whole continuation line starts a new line and is
 *   broken at the width inside its value, with no space at the break;
 * - records are separated by a line holding one space; lines end with CRLF.
 *
 * A comment (`;;; text` on the index line) longer than the line is broken at the width like a long value,
 * its rest on continuation lines indented under it, nothing added at the breaks: RouterOS wraps every
 * console line at the terminal's width (login option `<N>w`, routeros-notes "Output width and wrapping").
 */
export function formatPrintDetail(records: readonly NumberedRecord[], flags: readonly FlagDefinition[], width: number): string {
  if (records.length === 0) return "";
  const prefixes = recordPrefixes(records, flags);
  const lines: string[] = [];
  if (prefixes.legend.length > 0) lines.push(`Flags: ${prefixes.legend.map((flag) => `${flag.letter} - ${flag.name}`).join("; ")}`);
  records.forEach((record, position) => {
    if (position > 0) lines.push(" ");
    lines.push(...layoutRecord(record, prefixes.of(record), width));
  });
  return lines.map((line) => `${line}${CRLF}`).join("");
}

/**
 * What starts each record's first line: the index right-aligned (at least two columns), then one column
 * per flag present in the printed records (the letter or a space). `print detail` names those flags in a
 * `Flags:` legend; `print terse` prints the columns without a legend.
 */
export function recordPrefixes(
  records: readonly NumberedRecord[],
  flags: readonly FlagDefinition[],
): { readonly legend: readonly FlagDefinition[]; readonly of: (record: NumberedRecord) => string } {
  const legend = flags.filter((flag) => records.some((record) => record.flags.includes(flag.letter)));
  const indexWidth = Math.max(2, ...records.map((record) => String(record.index).length));
  return {
    legend,
    of: (record) => {
      const flagColumn = legend.map((flag) => (record.flags.includes(flag.letter) ? flag.letter : " ")).join("");
      return `${String(record.index).padStart(indexWidth)} ${flagColumn === "" ? "" : `${flagColumn} `}`;
    },
  };
}

function layoutRecord(record: RecordDraft, prefix: string, width: number): string[] {
  const indent = " ".repeat(prefix.length);
  const lines: string[] = [];
  let current = prefix;
  if (record.comment !== "") {
    let rest = `;;; ${record.comment}`;
    let line = prefix;
    while (line.length + rest.length > width && width - line.length >= 1) {
      const room = width - line.length;
      lines.push(line + rest.slice(0, room));
      rest = rest.slice(room);
      line = indent;
    }
    lines.push(line + rest);
    current = indent;
  }
  let lineHasField = false;
  for (const field of record.fields) {
    const pair = `${field.name}=${field.text}`;
    if (lineHasField && current.length + 1 + pair.length <= width) {
      current += ` ${pair}`;
      continue;
    }
    if (lineHasField) {
      lines.push(current);
      current = indent;
    }
    // The line holds only its indent here; whatever does not fit is broken at the width.
    let rest = pair;
    for (;;) {
      // At least one character per line, so a width narrower than the indent still ends.
      const room = Math.max(1, width - current.length);
      if (rest.length <= room) break;
      lines.push(current + rest.slice(0, room));
      current = indent;
      rest = rest.slice(room);
    }
    current += rest;
    lineHasField = true;
  }
  if (lineHasField || record.comment === "") lines.push(current);
  return lines;
}
