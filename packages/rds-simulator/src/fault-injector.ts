export type CommandKind = "read" | "mutate";

/** Which commands a fault applies to: text containing `contains`, and/or matching `regex`; neither: every command. */
export interface CommandMatch {
  readonly contains?: string;
  readonly regex?: string;
}

export interface DropConnectionFault {
  /** cut the SSH connection before executing the command, or after executing it (the reply is lost) */
  readonly when: "before" | "after";
  readonly count: number;
  readonly match?: CommandMatch;
}

export interface ErrorReplyFault {
  /** the text to answer with instead of executing the command, e.g. `failure: disk is busy` */
  readonly text: string;
  readonly count: number;
  readonly match?: CommandMatch;
}

/** The faults in force; counts are what remains. */
export interface FaultState {
  readonly delayMs: { readonly read: number; readonly mutate: number };
  readonly dropConnection: readonly DropConnectionFault[];
  readonly errorReply: readonly ErrorReplyFault[];
  readonly diskFull: boolean;
  readonly authFailure: boolean;
}

/** A fault description that cannot be used; the message names the field. */
export class InvalidFaultError extends Error {
  override readonly name = "InvalidFaultError";
}

interface Armed<T> {
  readonly fault: T;
  readonly test: (command: string) => boolean;
  remaining: number;
}

/**
 * Faults the next commands and connections suffer. Set in-process or through the control API; the
 * command executor and the SSH server ask it before and after each step. Host key change and restart
 * are actions on the simulator, not standing faults.
 */
export class FaultInjector {
  #delay = { read: 0, mutate: 0 };
  #drops: Armed<DropConnectionFault>[] = [];
  #errors: Armed<ErrorReplyFault>[] = [];
  #diskFull = false;
  #authFailure = false;

  /** Extra delay per command kind, on top of the configured latency. */
  setDelay(delay: { readonly read?: number; readonly mutate?: number }): void {
    this.#delay = {
      read: delayMs("read", delay.read) ?? this.#delay.read,
      mutate: delayMs("mutate", delay.mutate) ?? this.#delay.mutate,
    };
  }

  dropConnection(fault: DropConnectionFault): void {
    if (fault.when !== "before" && fault.when !== "after") throw new InvalidFaultError('when must be "before" or "after"');
    this.#drops.push(arm(fault));
  }

  errorReply(fault: ErrorReplyFault): void {
    if (typeof fault.text !== "string" || fault.text === "") throw new InvalidFaultError("text must be a non-empty string");
    this.#errors.push(arm(fault));
  }

  /** The pool reports no free space and refuses anything that needs space. */
  setDiskFull(enabled: boolean): void {
    this.#diskFull = enabled;
  }

  /** Every SSH authentication attempt fails. */
  setAuthFailure(enabled: boolean): void {
    this.#authFailure = enabled;
  }

  get diskFull(): boolean {
    return this.#diskFull;
  }

  get authFailure(): boolean {
    return this.#authFailure;
  }

  reset(): void {
    this.#delay = { read: 0, mutate: 0 };
    this.#drops = [];
    this.#errors = [];
    this.#diskFull = false;
    this.#authFailure = false;
  }

  state(): FaultState {
    return {
      delayMs: { ...this.#delay },
      dropConnection: this.#drops.map((armed) => ({ ...armed.fault, count: armed.remaining })),
      errorReply: this.#errors.map((armed) => ({ ...armed.fault, count: armed.remaining })),
      diskFull: this.#diskFull,
      authFailure: this.#authFailure,
    };
  }

  extraDelay(kind: CommandKind): number {
    return this.#delay[kind];
  }

  /** Consumes one use of the first drop fault of this timing that matches; true: cut the connection. */
  takeDrop(command: string, when: "before" | "after"): boolean {
    return take(this.#drops, (armed) => armed.fault.when === when && armed.test(command)) !== undefined;
  }

  /** Consumes one use of the first matching error fault; returns the text to answer with. */
  takeErrorReply(command: string): string | undefined {
    return take(this.#errors, (armed) => armed.test(command))?.text;
  }
}

function delayMs(field: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new InvalidFaultError(`${field} must be a whole number of milliseconds >= 0`);
  }
  return value;
}

function arm<T extends { readonly count: number; readonly match?: CommandMatch }>(fault: T): Armed<T> {
  if (!Number.isSafeInteger(fault.count) || fault.count < 1) throw new InvalidFaultError("count must be a whole number >= 1");
  return { fault, test: compileMatch(fault.match), remaining: fault.count };
}

// Faults also arrive as JSON, so the shape is checked here and not only by the type system.
function compileMatch(match: CommandMatch | undefined): (command: string) => boolean {
  if (match !== undefined && (typeof match !== "object" || match === null)) throw new InvalidFaultError("match must be an object");
  const contains = match?.contains;
  if (contains !== undefined && typeof contains !== "string") throw new InvalidFaultError("match.contains must be a string");
  let pattern: RegExp | undefined;
  if (match?.regex !== undefined) {
    if (typeof match.regex !== "string") throw new InvalidFaultError("match.regex must be a string");
    try {
      pattern = new RegExp(match.regex);
    } catch (err) {
      throw new InvalidFaultError(`match.regex: ${(err as Error).message}`);
    }
  }
  return (command) => (contains === undefined || command.includes(contains)) && (pattern === undefined || pattern.test(command));
}

function take<T>(list: Armed<T>[], predicate: (armed: Armed<T>) => boolean): T | undefined {
  const index = list.findIndex(predicate);
  if (index < 0) return undefined;
  const armed = list[index]!;
  armed.remaining -= 1;
  if (armed.remaining === 0) list.splice(index, 1);
  return armed.fault;
}
