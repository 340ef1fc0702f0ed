import { syntaxError } from "./routeros-error.js";
import type { TokenCursor } from "./token-cursor.js";

/** One `property=value` or `property~regex` test of a `where` clause or a `[find ...]`. */
export interface Condition {
  readonly property: string;
  readonly operator: "=" | "~";
  readonly value: string;
  readonly test: (actual: string) => boolean;
}

/**
 * Reads `cond (and? cond)*` up to a `]` or the end of the line; at least one condition is required.
 * Properties must be ones the menu prints (a misspelt property is a syntax error, not an empty
 * result). A `~` value is a regular expression matched anywhere in the value, as RouterOS does.
 */
export function parseConditions(cursor: TokenCursor, properties: ReadonlySet<string>): Condition[] {
  const conditions: Condition[] = [parseCondition(cursor, properties)];
  for (;;) {
    const next = cursor.peek();
    if (next === undefined || next.kind === "]" || next.kind === "separator") return conditions;
    if (next.kind === "word" && next.text === "and") cursor.next();
    conditions.push(parseCondition(cursor, properties));
  }
}

function parseCondition(cursor: TokenCursor, properties: ReadonlySet<string>): Condition {
  const property = cursor.peek();
  if (property === undefined || property.kind !== "word" || !properties.has(property.text)) {
    throw syntaxError(cursor.column());
  }
  cursor.next();
  const operator = cursor.accept("=") ?? cursor.accept("~");
  if (operator === undefined) throw syntaxError(cursor.column());
  const value = cursor.accept("string") ?? cursor.accept("word");
  if (value === undefined) throw syntaxError(cursor.column());
  if (operator.kind === "=") {
    return { property: property.text, operator: "=", value: value.text, test: (actual) => actual === value.text };
  }
  let pattern: RegExp;
  try {
    pattern = new RegExp(value.text);
  } catch {
    throw syntaxError(value.column);
  }
  return { property: property.text, operator: "~", value: value.text, test: (actual) => pattern.test(actual) };
}

/** True when every condition holds; a property the record does not have fails its condition. */
export function matchesAll(conditions: readonly Condition[], valueOf: (property: string) => string | undefined): boolean {
  return conditions.every((condition) => {
    const actual = valueOf(condition.property);
    return actual !== undefined && condition.test(actual);
  });
}
