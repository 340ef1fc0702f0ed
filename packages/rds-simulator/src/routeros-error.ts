/**
 * An error as RouterOS reports it: `message` is the exact text the console prints on the session output.
 * Every text the simulator can answer with is built by one of the functions below, so the list in the
 * README is complete by construction.
 */
export class RouterOsError extends Error {
  override readonly name = "RouterOsError";
}

/** Positions are 1-based columns on line 1 (an exec request is one line). */
export function badCommandName(word: string, column: number): RouterOsError {
  return new RouterOsError(`bad command name ${word} (line 1 column ${column})`);
}

export function syntaxError(column: number): RouterOsError {
  return new RouterOsError(`syntax error (line 1 column ${column})`);
}

export function expectedEndOfCommand(column: number): RouterOsError {
  return new RouterOsError(`expected end of command (line 1 column ${column})`);
}

export function expectedCommandName(column: number): RouterOsError {
  return new RouterOsError(`expected command name (line 1 column ${column})`);
}

/** An enumerated argument (`type`, `nvme-tcp-export`) got a value outside its set. */
export function inputDoesNotMatch(argument: string): RouterOsError {
  return new RouterOsError(`input does not match any value of ${argument}`);
}

/** A value that cannot be read as the argument's type (a size that is not a number, a find where text belongs). */
export function invalidValue(argument: string): RouterOsError {
  return new RouterOsError(`invalid value for argument ${argument}`);
}

export function outOfRange(argument: string, min: bigint | number, max: bigint | number): RouterOsError {
  return new RouterOsError(`value of ${argument} out of range (${min}..${max})`);
}

export function missingArgument(argument: string): RouterOsError {
  return new RouterOsError(`missing value(s) of argument(s) ${argument}`);
}

/** A named item (`/disk remove vm1`) that does not exist; `[find ...]` matching nothing is not an error. */
export function noSuchItem(): RouterOsError {
  return new RouterOsError("no such item");
}

/** A command that was understood but could not be carried out. */
export function failure(reason: string): RouterOsError {
  return new RouterOsError(`failure: ${reason}`);
}
