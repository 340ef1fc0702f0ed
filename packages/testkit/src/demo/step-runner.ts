/** What a step proved: each check is something read back from the system, not a statement. */
export class StepChecks {
  readonly passed: string[] = [];

  /** Records `description` when `holds` is true; otherwise the step fails with it. */
  that(holds: boolean, description: string, failure = description): void {
    if (!holds) throw new CheckFailed(failure);
    this.passed.push(description);
  }
}

export class CheckFailed extends Error {
  override readonly name = "CheckFailed";
}

export interface StepOutput {
  /** Where lines go (stdout). */
  write(text: string): void;
  /** True when `write` reaches a terminal that can redraw a line. */
  readonly interactive: boolean;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Runs the demo's steps one after another, each printed as one line: its number, title, duration and
 * what was checked. While a step runs, a live progress line (spinner, elapsed time, the latest note such
 * as "retrying: ABORTED") is redrawn on a terminal; elsewhere only the final lines appear.
 */
export class StepRunner {
  #number = 0;
  #note = "";
  readonly failures: string[] = [];

  constructor(
    private readonly out: StepOutput,
    private readonly total: number,
  ) {}

  /** Shown on the progress line of the running step. */
  note(text: string): void {
    this.#note = text;
  }

  async step<T>(title: string, work: (check: StepChecks) => Promise<T>): Promise<T> {
    const number = ++this.#number;
    const started = performance.now();
    const checks = new StepChecks();
    this.#note = "";
    let frame = 0;
    const redraw = (): void => {
      const elapsed = ((performance.now() - started) / 1000).toFixed(1);
      this.out.write(`\r\x1b[2K${SPINNER[frame++ % SPINNER.length]} [${number}/${this.total}] ${title} … ${elapsed} s${this.#note ? ` (${this.#note})` : ""}`);
    };
    const timer = this.out.interactive ? setInterval(redraw, 100) : undefined;
    try {
      const result = await work(checks);
      this.#finish(`✓ [${number}/${this.total}] ${title} (${seconds(started)})${checks.passed.length ? ` — checked: ${checks.passed.join("; ")}` : ""}`);
      return result;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.failures.push(`${title}: ${reason}`);
      this.#finish(`✗ [${number}/${this.total}] ${title} (${seconds(started)}) — FAILED: ${reason}${checks.passed.length ? `\n    checked before the failure: ${checks.passed.join("; ")}` : ""}`);
      throw err;
    } finally {
      clearInterval(timer);
    }
  }

  /** A line between steps (a section heading, a skipped step and why). */
  say(text: string): void {
    this.out.write(`${text}\n`);
  }

  #finish(line: string): void {
    this.out.write(`${this.out.interactive ? "\r\x1b[2K" : ""}${line}\n`);
  }
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(2)} s`;
}

/** Bytes as GiB with one decimal, the unit a PVC is written in. */
export function gib(bytes: bigint | number): string {
  return `${(Number(bytes) / 1024 ** 3).toFixed(1)} GiB`;
}
