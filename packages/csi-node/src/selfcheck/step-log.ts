import { withDeadline } from "@rds-csi/core";

export interface StepRecord {
  readonly name: string;
  readonly outcome: "ok" | "failed";
  readonly durationMs: number;
  /** what the step found (ok) or why it failed */
  readonly detail?: string;
}

/**
 * Runs the self-check's steps one at a time, each under its own deadline and the run's stop signal,
 * and keeps the record the report prints. A failed step is recorded and rethrown: the caller decides
 * whether the run can go on.
 */
export class StepLog {
  readonly #records: StepRecord[] = [];

  constructor(
    private readonly stopping: AbortSignal,
    private readonly onStep: (record: StepRecord) => void = () => undefined,
  ) {}

  get records(): readonly StepRecord[] {
    return this.#records;
  }

  async run<T>(name: string, timeoutMs: number, work: (signal: AbortSignal) => Promise<T>, describe?: (value: T) => string): Promise<T> {
    const started = performance.now();
    try {
      const value = await withDeadline(this.stopping, timeoutMs, work);
      this.#add({ name, outcome: "ok", durationMs: performance.now() - started, ...(describe ? { detail: describe(value) } : {}) });
      return value;
    } catch (err) {
      this.#add({ name, outcome: "failed", durationMs: performance.now() - started, detail: errorText(err) });
      throw err;
    }
  }

  /**
   * For clean-up: runs under its own deadline only (the stop signal may have fired already), records
   * a failure instead of throwing it, and says whether the step succeeded.
   */
  async attempt(name: string, timeoutMs: number, work: (signal: AbortSignal) => Promise<void>): Promise<boolean> {
    const started = performance.now();
    try {
      await withDeadline(new AbortController().signal, timeoutMs, work);
      this.#add({ name, outcome: "ok", durationMs: performance.now() - started });
      return true;
    } catch (err) {
      this.#add({ name, outcome: "failed", durationMs: performance.now() - started, detail: errorText(err) });
      return false;
    }
  }

  #add(record: StepRecord): void {
    this.#records.push(record);
    this.onStep(record);
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
