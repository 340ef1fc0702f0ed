import type { Arguments } from "./command-parser.js";
import { inputDoesNotMatch, invalidValue, outOfRange } from "./routeros-error.js";
import { parseSizeArgument } from "./size-argument.js";
import type { Condition } from "./where-clause.js";

/** Typed readers for command arguments; each returns undefined when the argument was not given. */

export function textArgument(args: Arguments, name: string): string | undefined {
  const value = args.get(name);
  if (value === undefined) return undefined;
  if (value.kind !== "text") throw invalidValue(name);
  return value.text;
}

export function yesNoArgument(args: Arguments, name: string): boolean | undefined {
  const text = textArgument(args, name);
  if (text === undefined) return undefined;
  if (text !== "yes" && text !== "no") throw inputDoesNotMatch(name);
  return text === "yes";
}

export function portArgument(args: Arguments, name: string): number | undefined {
  const text = textArgument(args, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/u.test(text)) throw invalidValue(name);
  const port = Number(text);
  if (port < 1 || port > 65535) throw outOfRange(name, 1, 65535);
  return port;
}

const MAX_SIZE = 2n ** 63n - 1n;

/** Bytes, `K`/`M`/`G`/`T` binary suffixes; 1 … 2^63-1 as the console accepts (the pool decides what fits). */
export function sizeArgument(args: Arguments, name: string): bigint | undefined {
  const text = textArgument(args, name);
  if (text === undefined) return undefined;
  const size = parseSizeArgument(text);
  if (size === undefined) throw invalidValue(name);
  if (size < 1n || size > MAX_SIZE) throw outOfRange(name, 1n, MAX_SIZE);
  return size;
}

/** An item reference such as `copy-from=[find slot="x"]`; plain text is not one. */
export function findArgument(args: Arguments, name: string): readonly Condition[] | undefined {
  const value = args.get(name);
  if (value === undefined) return undefined;
  if (value.kind !== "find") throw invalidValue(name);
  return value.conditions;
}
