import { AbortedError, type Logger } from "@rds-csi/core";

/** The replica lost (or never had) the leader Lease: the write was not made. */
export class NotLeaderError extends AbortedError {
  override readonly name = "NotLeaderError";
}

export interface WriteGuardOptions {
  /** Log every write instead of making it. */
  readonly dryRun: boolean;
  /** Asked right before every write, so a deposed leader never acts. */
  readonly isLeader: () => boolean;
  readonly logger: Logger;
}

/** The gate in front of every write to the API server or the RDS: leadership, then dry-run. */
export class WriteGuard {
  readonly #options: WriteGuardOptions;

  constructor(options: WriteGuardOptions) {
    this.#options = options;
  }

  get dryRun(): boolean {
    return this.#options.dryRun;
  }

  /** Makes the write and returns true, or in dry-run logs it and returns false; throws NotLeaderError when not the leader. */
  async write(what: string, fields: Readonly<Record<string, unknown>>, act: () => Promise<void>): Promise<boolean> {
    if (!this.#options.isLeader()) throw new NotLeaderError(`not the leader any more; did not ${what}`);
    if (this.#options.dryRun) {
      this.#options.logger.info(`dry run: would ${what}`, fields);
      return false;
    }
    await act();
    return true;
  }
}
