import { setTimeout as sleep } from "node:timers/promises";
import type { CommandKind } from "./fault-injector.js";

/**
 * Runs commands the way the RDS does: mutating commands one at a time in arrival order, read-only
 * commands at once, each taking its latency. A mutation's latency is spent holding the queue, so a
 * burst of mutations takes the sum of their latencies, as on the real box.
 */
export class CommandScheduler {
  readonly #latencyMs: (kind: CommandKind) => number;
  #tail: Promise<void> = Promise.resolve();

  constructor(latencyMs: (kind: CommandKind) => number) {
    this.#latencyMs = latencyMs;
  }

  /** `task` receives the moment its turn began, for the command log. */
  run<T>(kind: CommandKind, task: (startedAt: Date) => Promise<T>): Promise<T> {
    if (kind === "read") return this.#afterLatency(kind, task);
    const run = this.#tail.then(() => this.#afterLatency(kind, task));
    this.#tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Runs `task` in the mutation queue, between commands, without a command's latency (work the RDS does on its own). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task);
    this.#tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Resolves once every mutation queued so far has finished. */
  idle(): Promise<void> {
    return this.#tail;
  }

  /**
   * The configured latency is the command's whole time on the RDS: the simulator's own work (files,
   * state) is part of it, not added on top, so a benchmark's serial bound of "mutations × latency" is
   * what the simulated RDS really costs.
   */
  async #afterLatency<T>(kind: CommandKind, task: (startedAt: Date) => Promise<T>): Promise<T> {
    const startedAt = new Date();
    const began = performance.now();
    try {
      return await task(startedAt);
    } finally {
      const remaining = this.#latencyMs(kind) - (performance.now() - began);
      if (remaining > 0) await sleep(remaining);
    }
  }
}
