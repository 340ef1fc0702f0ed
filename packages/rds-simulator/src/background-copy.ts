import type { BackingFiles } from "./backing-files.js";
import type { FileTable } from "./file-table.js";

/** The copy moves in this many steps, one every STEP_MS: long enough for a reader to see the file grow. */
const STEPS = 8;
const STEP_MS = 100;

export interface BackgroundCopyOptions {
  readonly backing: BackingFiles;
  readonly files: FileTable;
  readonly now: () => Date;
  /** runs a step between commands, as the RDS's own work, and records what it changed */
  readonly exclusive: (step: () => Promise<void>) => Promise<void>;
}

/**
 * `copyFrom: data-in-background`: the disk exists as soon as `/disk add ... copy-from=` returns, with an
 * empty file that grows while the source's data is copied into it, step by step, and reaches the
 * requested size only at the end. A copy whose file was removed meanwhile stops.
 */
export class BackgroundCopies {
  readonly #options: BackgroundCopyOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  #running: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: BackgroundCopyOptions) {
    this.#options = options;
  }

  /** The target file must exist, empty, in the file table and on disk. */
  start(sourceName: string, sourceSize: number, name: string, finalSize: number): void {
    const chunk = Math.max(1, Math.ceil(sourceSize / STEPS));
    const step = (copied: number): void => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        const run = this.#options.exclusive(async () => {
          const entry = this.#options.files.get(name);
          if (this.#stopped || entry === undefined) return;
          const length = Math.min(chunk, sourceSize - copied);
          await this.#options.backing.copyRange(sourceName, name, copied, length);
          const done = copied + length >= sourceSize;
          if (done) await this.#options.backing.resize(name, finalSize);
          this.#options.files.put({ ...entry, size: done ? finalSize : copied + length, lastModified: this.#options.now().toISOString() });
          if (!done) step(copied + length);
        });
        this.#running = run.catch(() => undefined);
      }, STEP_MS);
      this.#timers.add(timer);
    };
    step(0);
  }

  /** No further step starts; resolves once the one in progress has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#running;
  }
}
