import {
  AlreadyExistsError,
  type CsiError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
} from "../errors.js";
import { printableExcerpt } from "./printable-excerpt.js";

/**
 * The one RouterOS error classifier (docs/design/routeros-protocol.md, "Errors"). RouterOS reports a
 * failed command as text, usually on stdout, sometimes on stderr, and its exit status cannot be relied
 * on; so both streams are searched whatever the status was.
 *
 * An error is a whole line, starting in the first column, in one of the known forms. That is what keeps
 * `print` output from being mistaken for an error: every line of a record is either an index line (it
 * starts with a digit or spaces) or an indented continuation, and the legend starts with `Flags:`, so a
 * value such as `comment="no such item"`, a `;;; failure: …` comment or a wrapped value that happens to
 * read `no such item` on a line of its own can never match.
 *
 * Secondary signals, for failures RouterOS did not describe in a known form: anything on stderr (RouterOS
 * writes normal output to stdout only) and a non-zero exit status are Internal. A null exit status (the
 * channel closed without one) says nothing here; the transport reports lost channels as Unavailable.
 *
 * Messages carry the command's path (`/disk add`) and the RouterOS line, escaped and truncated; never the
 * command's arguments, which are not ours to echo to a CSI caller.
 */
export function routerOsError(
  stdout: string,
  stderr: string,
  exitCode: number | null,
  commandText: string,
): CsiError | undefined {
  const where = commandPath(commandText);
  for (const line of [...lines(stdout), ...lines(stderr)]) {
    const error = classifyLine(line, where);
    if (error) return error;
  }
  const unexplained = lines(stderr).find((line) => line.trim() !== "");
  if (unexplained !== undefined) {
    return new InternalError(`RouterOS ${where} failed: ${printableExcerpt(unexplained.trim(), MAX_LINE)}`);
  }
  if (exitCode !== null && exitCode !== 0) {
    const said = lines(stdout).find((line) => line.trim() !== "");
    const detail = said === undefined ? "" : `: ${printableExcerpt(said.trim(), MAX_LINE)}`;
    return new InternalError(`RouterOS ${where} exited with status ${exitCode}${detail}`);
  }
  return undefined;
}

type ErrorClass = new (message: string) => CsiError;

const POSITION = String.raw`(?: \(line \d+ column \d+\))?`;

/** Whole-line forms other than `failure: …`, with the class each one means. */
const KNOWN_LINES: ReadonlyArray<readonly [RegExp, ErrorClass]> = [
  [/^no such item$/, NotFoundError],
  [/^(?:not enough space|disk full)$/, ResourceExhaustedError],
  [/^input does not match any value of \S.*$/, InvalidArgumentError],
  [/^invalid value for argument \S.*$/, InvalidArgumentError],
  [/^value of \S+ out of range\b.*$/, InvalidArgumentError],
  // The driver built a command this RDS does not understand: a bug, or an unsupported RouterOS version.
  [new RegExp(`^bad command name \\S+${POSITION}$`), InternalError],
  [new RegExp(`^(?:syntax error|expected end of command|expected command name)${POSITION}$`), InternalError],
];

/** What follows `failure: `, with the class each form means; any other failure is Internal. */
const FAILURES: ReadonlyArray<readonly [RegExp, ErrorClass]> = [
  [/^no such item$/, NotFoundError],
  [/already exists$/, AlreadyExistsError],
  [/(?:not enough space|disk full)$/, ResourceExhaustedError],
  // An item RouterOS will not change now (a disk with live NVMe/TCP sessions, a file a disk uses):
  // retryable once whatever holds it lets go.
  [/(?:is busy|in use)$/, FailedPreconditionError],
];

const MAX_LINE = 200;

function classifyLine(line: string, where: string): CsiError | undefined {
  const text = line.trimEnd();
  const message = `RouterOS ${where} failed: ${printableExcerpt(text, MAX_LINE)}`;
  if (text.startsWith("failure: ")) {
    const reason = text.slice("failure: ".length);
    const match = FAILURES.find(([form]) => form.test(reason));
    return new (match?.[1] ?? InternalError)(message);
  }
  const match = KNOWN_LINES.find(([form]) => form.test(text));
  return match ? new match[1](message) : undefined;
}

function lines(text: string): string[] {
  return text.split("\n").map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
}

/** `/disk add type=file …` → `/disk add`: the menu and verb, which hold no values. */
function commandPath(commandText: string): string {
  const words: string[] = [];
  for (const word of commandText.split(" ")) {
    if (!/^\/?[a-z][a-z0-9-]*$/.test(word) || word === "where") break;
    words.push(word);
  }
  return words.join(" ");
}
