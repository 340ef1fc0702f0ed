import type { Logger } from "@rds-csi/core";
import { NotLeaderError } from "./write-guard.js";

/** Triggers within this long of each other fold into one pass (a burst of watch events, say). */
const COALESCE_MS = 200;

export interface ReconcileLoopOptions {
  /** One level-triggered pass; must honour the signal. */
  readonly pass: (signal: AbortSignal) => Promise<void>;
  /** Passes run only while this says so (the leader Lease). */
  readonly isLeader: () => boolean;
  /** Runs instead of a pass while not leading (a standby keeps its own timings current). */
  readonly standby?: () => void;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** what the loop is called in logs, e.g. `reconcile` */
  readonly name: string;
}

/**
 * Runs a pass every interval, and soon after `trigger` (triggers that arrive while a pass runs fold
 * into one more pass). A failed pass is logged and the next one decides again from fresh state: a
 * pass keeps no work of its own, so nothing is lost. Only the leader runs passes.
 */
export class ReconcileLoop {
  readonly #options: ReconcileLoopOptions;
  #wake: (() => void) | undefined;
  #pending = false;
  #running: Promise<void> | undefined;
  #stopping: AbortController | undefined;

  constructor(options: ReconcileLoopOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#running) return;
    this.#stopping = new AbortController();
    this.#running = this.#run(this.#stopping.signal);
  }

  async stop(): Promise<void> {
    this.#stopping?.abort(new Error(`the ${this.#options.name} loop stopped`));
    this.#wake?.();
    await this.#running;
    this.#running = undefined;
  }

  trigger(): void {
    if (this.#pending) return;
    this.#pending = true;
    const wake = this.#wake;
    if (wake) setTimeout(wake, COALESCE_MS);
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { logger, name } = this.#options;
    while (!signal.aborted) {
      this.#pending = false;
      if (!this.#options.isLeader()) {
        this.#options.standby?.();
      } else {
        try {
          await this.#options.pass(signal);
        } catch (err) {
          if (signal.aborted) break;
          if (err instanceof NotLeaderError) logger.info(`${name} pass stopped: leadership lost`, { error: err.message });
          else logger.error(`${name} pass failed; the next pass decides again`, { error: err instanceof Error ? err.message : String(err) });
        }
      }
      if (signal.aborted) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#pending ? COALESCE_MS : this.#options.intervalMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}
