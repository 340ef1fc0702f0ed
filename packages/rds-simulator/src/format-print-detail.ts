import type { RecordDraft } from "./record-fields.js";
import type { DetailWrapMode } from "./settings.js";

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
 *   from the next line, or the first fields; continuation lines are indented under the first field;
 * - records are separated by a line holding one space; lines end with CRLF.
 *
 * How RouterOS breaks a record wider than the console is not documented (routeros-notes "Output width
 * and wrapping"), so each plausible way is a mode (the `detailWrap` setting):
 * - `pairs` (default): fields fill lines up to `width`; a field that does not fit goes to the next line; a
 *   field longer than a whole line starts a new line and is cut at the width, nothing added;
 * - `cut`: the fields run on as on an endless line, every line filled to the width and cut there — inside
 *   a key, at `=`, inside quotes — with nothing added or removed (a space at a cut stays where it falls);
 * - `words`: as `pairs`, but a field longer than a whole line is broken after its last space outside quotes
 *   that fits (a grouped number, `type=.img file`), that space dropped; without one, cut at the width.
 * In every mode a comment longer than the line is cut at the width, its rest on continuation lines,
 * nothing added: it is one console line, which RouterOS wraps at the terminal's width (login option `<N>w`).
 */
export function formatPrintDetail(records: readonly NumberedRecord[], flags: readonly FlagDefinition[], width: number, wrap: DetailWrapMode): string {
  if (records.length === 0) return "";
  const prefixes = recordPrefixes(records, flags);
  const lines: string[] = [];
  if (prefixes.legend.length > 0) lines.push(`Flags: ${prefixes.legend.map((flag) => `${flag.letter} - ${flag.name}`).join("; ")}`);
  records.forEach((record, position) => {
    if (position > 0) lines.push(" ");
    lines.push(...layoutRecord(record, prefixes.of(record), width, wrap));
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

function layoutRecord(record: RecordDraft, prefix: string, width: number, wrap: DetailWrapMode): string[] {
  const indent = " ".repeat(prefix.length);
  const lines: string[] = [];
  let lead = prefix;
  if (record.comment !== "") {
    lines.push(...cutAtWidth(lead, `;;; ${record.comment}`, indent, width));
    lead = indent;
  }
  const pairs = record.fields.map((field) => `${field.name}=${field.text}`);
  if (pairs.length === 0) {
    if (record.comment === "") lines.push(prefix);
    return lines;
  }
  if (wrap === "cut") return [...lines, ...cutAtWidth(lead, pairs.join(" "), indent, width)];
  let current = lead;
  let lineHasField = false;
  for (const pair of pairs) {
    if (lineHasField && current.length + 1 + pair.length <= width) {
      current += ` ${pair}`;
      continue;
    }
    if (lineHasField) {
      lines.push(current);
      current = indent;
    }
    // The line holds only its lead here; whatever does not fit is broken at the width (or at a space, `words`).
    const spaces = wrap === "words" ? spacesOutsideQuotes(pair) : [];
    let from = 0;
    for (;;) {
      // At least one character per line, so a width narrower than the indent still ends.
      const room = Math.max(1, width - current.length);
      if (pair.length - from <= room) break;
      const space = spaces.findLast((at) => at > from && at <= from + room);
      lines.push(current + pair.slice(from, space ?? from + room));
      current = indent;
      from = space === undefined ? from + room : space + 1;
    }
    current += pair.slice(from);
    lineHasField = true;
  }
  lines.push(current);
  return lines;
}

/** `lead` + `text` on lines of `width`, cut anywhere, continuation lines led by `indent`; nothing added or removed. */
function cutAtWidth(lead: string, text: string, indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = lead;
  let rest = text;
  while (line.length + rest.length > width && width - line.length >= 1) {
    const room = width - line.length;
    lines.push(line + rest.slice(0, room));
    rest = rest.slice(room);
    line = indent;
  }
  lines.push(line + rest);
  return lines;
}

/** Offsets of the spaces in a pair that are outside its quoted value: where `words` may break it. */
function spacesOutsideQuotes(pair: string): number[] {
  const spaces: number[] = [];
  let quoted = false;
  for (let at = 0; at < pair.length; at++) {
    const char = pair[at];
    if (quoted && char === "\\") at++;
    else if (char === '"') quoted = !quoted;
    else if (char === " " && !quoted) spaces.push(at);
  }
  return spaces;
}
