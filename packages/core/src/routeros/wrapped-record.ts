import { PairScanner } from "./pair-scanner.js";
import { printableExcerpt } from "./printable-excerpt.js";

/**
 * Reads a `print detail` record that spans lines, without knowing how RouterOS wrapped it (how it does
 * is not documented; docs/design/routeros-protocol.md, "Output"). The layouts it must read, each a mode of
 * the RDS simulator (`detailWrap`):
 *
 * - `pairs`: a pair that does not fit moves to the next line, the space before it replaced by the line
 *   break; a pair longer than a line is cut at the width, nothing added;
 * - `cut`: every line is filled to the width and cut there, inside keys, at `=`, inside quotes, nothing
 *   added or removed (a space at the cut stays at the line's end or the next line's start);
 * - `words`: like `pairs`, but a pair longer than a line is broken at its last space outside quotes that
 *   fits (a grouped number, `type=.img file`), that space replaced by the line break.
 * In all three a comment is a console line of its own, cut at the width, and the fields start on the line
 * after it.
 *
 * So a break is one of two joins: as printed (`""`), or with the one space the break replaced (`" "`).
 * A cut fills its line to the width and no line is wider, so `""` is possible only after a line as long as
 * the longest line of the output — or inside quotes, where no layout drops a space and `" "` is never
 * tried. The reader follows every join still possible, line by line, and keeps the readings that read
 * (pair-scanner.ts, strict: a bare value holds no `"` or `=` and a space only where RouterOS prints one in
 * a bare value, a joined space only where `words` breaks). One reading, or several that agree: the record. Several that
 * differ: the record is unreadable — a wrong slot, NQN or path is worse than a record skipped and counted.
 *
 * Continuation lines are indented to the column where the record's first line has its content; the
 * indentation is removed, any space beyond it kept.
 */

export interface Reading {
  readonly flags: string;
  readonly comment: string | undefined;
  readonly keys: readonly string[];
  readonly values: readonly string[];
}

/** Where the first line's content may start: after every flag column, or at a last letter group that is content cut at the width. */
export interface FirstLine {
  readonly flags: string;
  readonly contentStart: number;
}

interface Branch {
  readonly flags: string;
  /** Text seen before anything was decided: a comment mark cut at the width (`;` or `;;`). */
  readonly pending: string;
  readonly comment: string | undefined;
  readonly inComment: boolean;
  /** The fields' text as joined so far, from where the pair being read still needs it; its scanner; none before the fields start. */
  readonly text: string;
  /** Where the fields' last line starts in `text` (below 0 when that line began inside the pair being read). */
  readonly lineStart: number;
  readonly scanner: PairScanner | undefined;
}

const COMMENT_MARK = ";;;";
/** More live readings than this and the record is refused rather than read at exponential cost. */
const MAX_BRANCHES = 256;

/**
 * `lines` holds, per line of the record, `[lineStart, contentFloor, lineEnd]` offsets into `output`:
 * `contentFloor` is where the content may start at the earliest (after the index on the first line, the
 * line's start on the others). Returns the one reading, or why there is none.
 */
export function readWrappedRecord(
  output: string,
  lines: readonly number[],
  firstLines: readonly FirstLine[],
  longestLine: number,
  continuationIndent: number,
): Reading | { readonly failure: string } {
  const readings: Reading[] = [];
  // The reason a reading died on the furthest line, made only if no reading is left.
  let failure: { line: number; reason: () => string | undefined } | undefined;
  const failed = (line: number, reason: () => string | undefined): void => {
    if (!failure || line > failure.line) failure = { line, reason };
  };
  const firstEnd = lines[2]!;
  // Continuation lines are indented to the column of the first content (the RDS2216 samples; a space a cut
  // leaves at a line's start is content, so the indentation is not read off the line). A first line
  // without content leaves the output's least indented continuation line to tell.
  const starts = firstLines.map((first) => ({ first, indent: first.contentStart < firstEnd ? first.contentStart - lines[0]! : continuationIndent }));
  for (const { first, indent } of starts) {
    let branches = [fresh(first.flags, output.slice(first.contentStart, firstEnd), failed, 0)].filter((branch) => branch !== undefined);
    for (let line = 1; line < lines.length / 3 && branches.length > 0; line++) {
      const lineStart = lines[line * 3]!;
      const lineEnd = lines[line * 3 + 2]!;
      let leading = lineStart;
      while (leading < lineEnd && output.charCodeAt(leading) === 32) leading++;
      const segment = output.slice(lineStart + Math.min(leading - lineStart, indent), lineEnd);
      const full = mayBeFull(output, lines[line * 3 - 3]!, lines[line * 3 - 1]!, longestLine);
      const next: Branch[] = [];
      for (const branch of branches) next.push(...continued(branch, segment, full, (reason) => failed(line, reason)));
      if (next.length > MAX_BRANCHES) return { failure: `its line breaks can be joined in more than ${MAX_BRANCHES} ways` };
      branches = next;
    }
    for (const branch of branches) {
      const reading = finished(branch);
      if ("failure" in reading) failed(lines.length / 3, () => reading.failure);
      else readings.push(reading);
    }
  }
  if (readings.length === 0) return { failure: failure?.reason() ?? "it cannot be read" };
  const [reading, ...others] = readings;
  const other = others.find((candidate) => difference(reading!, candidate) !== undefined);
  if (other) return { failure: `its line breaks can be read two ways (${difference(reading!, other)!})` };
  return reading!;
}

/**
 * Whether the line `output[start, end)` may have been cut at the width: it is as long as the longest line.
 * Width is counted in columns, which a line holding characters outside ASCII may not show as its length
 * (bytes, wide characters): such a line may always be full.
 */
function mayBeFull(output: string, start: number, end: number, longestLine: number): boolean {
  if (end - start === longestLine) return true;
  for (let at = start; at < end; at++) if (output.charCodeAt(at) > 0x7e) return true;
  return false;
}

/** A branch whose first content is `segment`, on a line of its own (nothing joined). */
function fresh(flags: string, segment: string, failed: (line: number, reason: () => string | undefined) => void, line: number): Branch | undefined {
  const base = { flags, pending: "", comment: undefined, inComment: false, text: "", lineStart: 0, scanner: undefined };
  if (segment === "") return base;
  if (segment.startsWith(COMMENT_MARK)) {
    const commentStart = segment.charCodeAt(COMMENT_MARK.length) === 32 ? COMMENT_MARK.length + 1 : COMMENT_MARK.length;
    return { ...base, comment: segment.slice(commentStart), inComment: true };
  }
  if (COMMENT_MARK.startsWith(segment)) return { ...base, pending: segment };
  const scanner = new PairScanner(true);
  if (!scanner.scan(segment, 0, segment.length)) {
    failed(line, () => scanner.failure);
    return undefined;
  }
  const cut = scanner.rebase(segment.length);
  return { ...base, text: segment.slice(cut), lineStart: -cut, scanner };
}

/** The branches a branch becomes with one more line: each join still possible that still reads. */
function continued(branch: Branch, segment: string, full: boolean, failed: (reason: () => string | undefined) => void): Branch[] {
  const out: Branch[] = [];
  if (branch.pending !== "") {
    // A comment mark cut at the width: only a cut explains it.
    if (!full) return [];
    const next = fresh(branch.flags, branch.pending + segment, (_, reason) => failed(reason), 1);
    return next ? [next] : [];
  }
  if (branch.scanner === undefined && !branch.inComment) {
    // Nothing but the index and flags so far: this line starts the content.
    const next = fresh(branch.flags, segment, (_, reason) => failed(reason), 1);
    return next ? [next] : [];
  }
  if (branch.inComment) {
    // A comment is one console line: it goes on only over a cut, else the fields start here.
    if (full) out.push({ ...branch, comment: branch.comment + segment });
    if (/^[a-z]/.test(segment)) {
      const fields = fresh(branch.flags, segment, (_, reason) => failed(reason), 1);
      if (fields) out.push({ ...fields, comment: branch.comment });
    }
    if (out.length === 0) failed(() => `a line after the comment starts no field: "${printableExcerpt(segment)}"`);
    return out;
  }
  const scanner = branch.scanner!;
  // A cut fills its line; inside quotes, where no layout drops a space, a break can only be a cut anyway.
  const joins = scanner.inQuotes ? [""] : full ? ["", " "] : [" "];
  for (const join of joins) {
    // The branch is left behind: its scanner goes on with the last join, copies with the others.
    const joined = join === joins.at(-1) ? scanner : scanner.clone();
    const text = branch.text + join + segment;
    if (join === " ") joined.joinedSpaceAt(branch.text.length, branch.lineStart);
    if (joined.scan(text, branch.text.length, text.length)) {
      const cut = joined.rebase(text.length);
      out.push({ ...branch, text: text.slice(cut), lineStart: branch.text.length + join.length - cut, scanner: joined });
    } else {
      failed(() => joined.failure);
    }
  }
  return out;
}

function finished(branch: Branch): Reading | { readonly failure: string } {
  if (branch.pending !== "") return { failure: `unexpected "${branch.pending}"` };
  const comment = branch.comment?.trim();
  const scanner = branch.scanner;
  if (scanner === undefined) return { flags: branch.flags, comment, keys: [], values: [] };
  if (!scanner.finish(branch.text, branch.text.length)) return { failure: scanner.failure ?? "it cannot be read" };
  return { flags: branch.flags, comment, keys: scanner.keys, values: scanner.values };
}

/** What tells two readings apart, for the message; undefined when they are the same. */
function difference(a: Reading, b: Reading): string | undefined {
  if (a.flags !== b.flags) return `flags "${a.flags}" or "${b.flags}"`;
  if (a.comment !== b.comment) return "the comment";
  for (let position = 0; position < Math.max(a.keys.length, b.keys.length); position++) {
    if (a.keys[position] !== b.keys[position]) return `field ${position + 1} is "${a.keys[position] ?? ""}" or "${b.keys[position] ?? ""}"`;
    if (a.values[position] !== b.values[position]) return `"${a.keys[position]!}" has two values`;
  }
  return undefined;
}
