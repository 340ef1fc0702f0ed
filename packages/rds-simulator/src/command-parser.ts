import { tokenize, type Token } from "./cli-tokenizer.js";
import { DISK_PROPERTIES } from "./disk-records.js";
import { FILE_PROPERTIES } from "./file-records.js";
import {
  badCommandName,
  expectedCommandName,
  expectedEndOfCommand,
  missingArgument,
  syntaxError,
} from "./routeros-error.js";
import { TokenCursor } from "./token-cursor.js";
import { parseConditions, type Condition } from "./where-clause.js";

export type Menu = "disk" | "file";

/** `[find ...]` selects what its conditions match (possibly nothing); a bare name must exist. */
export type Target =
  | { readonly kind: "find"; readonly conditions: readonly Condition[] }
  | { readonly kind: "name"; readonly name: string };

export type ArgumentValue =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "find"; readonly conditions: readonly Condition[] };

export type Arguments = ReadonlyMap<string, ArgumentValue>;

/**
 * How `print` lays records out (MikroTik manual, "Console", print parameters): `plain` (columns, not
 * simulated), `detail` (wrapped at the console width), `terse` (one record per line, never wrapped), or
 * `as-value` (values for a script: on a console line outside `:put [...]` it prints nothing).
 */
export type PrintFormat = "plain" | "detail" | "terse" | "as-value";

export type ParsedCommand =
  | { readonly menu: Menu; readonly action: "print"; readonly format: PrintFormat; readonly where: readonly Condition[] }
  | { readonly menu: "disk"; readonly action: "add"; readonly args: Arguments }
  | { readonly menu: "disk"; readonly action: "set"; readonly target: Target; readonly args: Arguments }
  | { readonly menu: Menu; readonly action: "remove"; readonly target: Target };

const DISK_ADD_ARGUMENTS: ReadonlySet<string> = new Set([
  "type",
  "slot",
  "file-path",
  "file-size",
  "copy-from",
  "nvme-tcp-export",
  "nvme-tcp-server-port",
  "nvme-tcp-server-nqn",
  "nvme-tcp-server-allow-host-name",
  "comment",
]);

const DISK_SET_ARGUMENTS: ReadonlySet<string> = new Set([
  "file-size",
  "nvme-tcp-export",
  "nvme-tcp-server-port",
  "nvme-tcp-server-nqn",
  "nvme-tcp-server-allow-host-name",
  "comment",
]);

const MENUS: Readonly<Record<Menu, { readonly properties: ReadonlySet<string>; readonly commands: readonly string[] }>> = {
  disk: { properties: DISK_PROPERTIES, commands: ["add", "print", "set", "remove"] },
  file: { properties: FILE_PROPERTIES, commands: ["print", "remove"] },
};

interface Segment {
  readonly text: string;
  readonly column: number;
}

/**
 * Parses one exec request as the RouterOS console would, for the commands the simulator knows:
 * `/disk add|print|set|remove`, `/file print|remove` (also written `/disk/print`). Throws a
 * RouterOsError with the console's text for anything else. Returns undefined for a blank line.
 * Argument values are checked by the command that uses them; this only checks their shape.
 */
export function parseCommand(line: string): ParsedCommand | undefined {
  const { tokens, endColumn } = tokenize(line);
  if (tokens.length === 0) return undefined;
  const cursor = new TokenCursor(tokens, endColumn);
  const path = new PathReader(cursor);

  const menuSegment = path.next();
  if (menuSegment === undefined) throw expectedCommandName(cursor.column());
  if (!isMenu(menuSegment.text)) throw badCommandName(menuSegment.text, menuSegment.column);
  const menu = menuSegment.text;
  const commandSegment = path.next();
  if (commandSegment === undefined) throw expectedCommandName(cursor.column());
  if (!MENUS[menu].commands.includes(commandSegment.text)) throw badCommandName(commandSegment.text, commandSegment.column);
  const leftover = path.rest();
  if (leftover !== undefined) throw badCommandName(leftover.text, leftover.column);

  const properties = MENUS[menu].properties;
  switch (commandSegment.text) {
    case "print":
      return parsePrint(cursor, menu, properties);
    case "add": {
      const args = parseArguments(cursor, DISK_ADD_ARGUMENTS, properties);
      return { menu: "disk", action: "add", args };
    }
    case "set": {
      const target = parseTarget(cursor, properties);
      const args = parseArguments(cursor, DISK_SET_ARGUMENTS, properties);
      return { menu: "disk", action: "set", target, args };
    }
    default: {
      const target = parseTarget(cursor, properties);
      expectEnd(cursor);
      return { menu, action: "remove", target };
    }
  }
}

function isMenu(text: string): text is Menu {
  return Object.hasOwn(MENUS, text);
}

/** Yields the menu path word by word and segment by segment: `/disk print`, `/disk/print`, `disk print`. */
class PathReader {
  readonly #cursor: TokenCursor;
  #pending: Segment[] = [];

  constructor(cursor: TokenCursor) {
    this.#cursor = cursor;
  }

  next(): Segment | undefined {
    while (this.#pending.length === 0) {
      const token = this.#cursor.peek();
      // A word followed by `=` is an argument (`file-size=1`), not part of the path.
      if (token?.kind !== "word" || this.#cursor.peek(1)?.kind === "=") return undefined;
      this.#cursor.next();
      this.#pending = splitPath(token);
    }
    return this.#pending.shift();
  }

  /** A segment left in the word that named the command (`/disk/print/x`). */
  rest(): Segment | undefined {
    return this.#pending[0];
  }
}

function splitPath(token: Token): Segment[] {
  const segments: Segment[] = [];
  let offset = 0;
  for (const part of token.text.split("/")) {
    if (part !== "") segments.push({ text: part, column: token.column + offset });
    offset += part.length + 1;
  }
  return segments;
}

const PRINT_OPTIONS: ReadonlySet<string> = new Set(["detail", "terse", "as-value", "without-paging"]);

function parsePrint(cursor: TokenCursor, menu: Menu, properties: ReadonlySet<string>): ParsedCommand {
  const options = new Set<string>();
  let where: Condition[] = [];
  for (let token = cursor.peek(); token !== undefined; token = cursor.peek()) {
    if (token.kind === "word" && PRINT_OPTIONS.has(token.text) && !options.has(token.text)) {
      options.add(token.text);
      cursor.next();
    } else if (token.kind === "word" && token.text === "where") {
      cursor.next();
      where = parseConditions(cursor, properties);
      expectEnd(cursor);
    } else {
      throw expectedEndOfCommand(token.column);
    }
  }
  const format: PrintFormat = options.has("as-value") ? "as-value" : options.has("terse") ? "terse" : options.has("detail") ? "detail" : "plain";
  return { menu, action: "print", format, where };
}

function parseArguments(cursor: TokenCursor, allowed: ReadonlySet<string>, properties: ReadonlySet<string>): Arguments {
  const args = new Map<string, ArgumentValue>();
  for (let token = cursor.next(); token !== undefined; token = cursor.next()) {
    if (token.kind !== "word" || !allowed.has(token.text) || args.has(token.text)) throw expectedEndOfCommand(token.column);
    if (cursor.accept("=") === undefined) throw syntaxError(cursor.column());
    const value = cursor.accept("string") ?? cursor.accept("word");
    if (value !== undefined) {
      args.set(token.text, { kind: "text", text: value.text });
    } else if (cursor.peek()?.kind === "[") {
      args.set(token.text, { kind: "find", conditions: parseFind(cursor, properties) });
    } else {
      throw syntaxError(cursor.column());
    }
  }
  return args;
}

/** The item argument (`numbers`) of `set` and `remove`: `[find ...]` or an item name. */
function parseTarget(cursor: TokenCursor, properties: ReadonlySet<string>): Target {
  const token = cursor.peek();
  if (token?.kind === "[") return { kind: "find", conditions: parseFind(cursor, properties) };
  if ((token?.kind === "word" || token?.kind === "string") && cursor.peek(1)?.kind !== "=") {
    cursor.next();
    return { kind: "name", name: token.text };
  }
  throw missingArgument("numbers");
}

/** `[find]`, `[find slot="x"]`, `[find where slot="x" and ...]`, evaluated in the command's own menu. */
function parseFind(cursor: TokenCursor, properties: ReadonlySet<string>): Condition[] {
  cursor.next();
  const command = cursor.peek();
  if (command?.kind !== "word") throw syntaxError(cursor.column());
  if (command.text !== "find") throw badCommandName(command.text, command.column);
  cursor.next();
  const hasWhere = cursor.accept("word", "where") !== undefined;
  const conditions = hasWhere || cursor.peek()?.kind !== "]" ? parseConditions(cursor, properties) : [];
  if (cursor.accept("]") === undefined) throw syntaxError(cursor.column());
  return conditions;
}

function expectEnd(cursor: TokenCursor): void {
  const token = cursor.peek();
  if (token !== undefined) throw expectedEndOfCommand(token.column);
}
