/**
 * What happened to a command: answered normally (`ok`), answered with a RouterOS error (`error`),
 * answered with an injected error (`injected-error`), or the connection was cut before it ran
 * (`dropped-before`) or after it ran, losing the reply (`dropped-after`).
 */
export type CommandOutcome = "ok" | "error" | "injected-error" | "dropped-before" | "dropped-after";

export interface CommandLogEntry {
  /** when the command arrived (ISO) */
  readonly timestamp: string;
  /** when the RDS started working on it, after waiting its turn in the mutation queue (ISO) */
  readonly startedAt: string;
  /** when it finished (ISO) */
  readonly finishedAt: string;
  /** the login name without console options */
  readonly user: string;
  readonly command: string;
  readonly outcome: CommandOutcome;
  /** what was (or, for `dropped-after`, would have been) printed */
  readonly output: string;
  /** from arrival to finish, milliseconds */
  readonly durationMs: number;
}

/** The most recent commands, oldest first; bounded so a long benchmark does not grow it without end. */
export class CommandLog {
  readonly #limit: number;
  #entries: CommandLogEntry[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  record(entry: CommandLogEntry): void {
    this.#entries.push(entry);
    if (this.#entries.length > this.#limit) this.#entries = this.#entries.slice(-this.#limit);
  }

  list(): readonly CommandLogEntry[] {
    return [...this.#entries];
  }

  clear(): void {
    this.#entries = [];
  }
}
