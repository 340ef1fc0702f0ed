import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open, readFile, rename, truncate } from "node:fs/promises";
import { join } from "node:path";
import { applyChanges, decodeChange, decodeSnapshot, InvalidStateError, type PersistedState, type StateChange } from "./persisted-state.js";

/** A journal smaller than this is never worth compacting, whatever the size of the snapshot. */
const MIN_COMPACT_BYTES = 64 * 1024;

/**
 * The simulator's durable state: a snapshot, `<stateDir>/state.json`, and a journal of the changes made
 * since, `<stateDir>/state.journal` (one JSON line per mutating command).
 *
 * A mutating command appends its line and flushes it before its reply is sent, so a crash at any point
 * after a reply keeps the reply's effect, and the cost of a command does not grow with the number of
 * disks. Once the journal outgrows the snapshot, the next change writes a new snapshot instead (to a
 * temporary file that is flushed and renamed over the old one) and empties the journal, which keeps the
 * cost per command constant on average. The snapshot names the last journal line it holds, so lines
 * left behind by a crash between the rename and the truncation are skipped when the state is loaded; a
 * last line cut short by a crash was never acknowledged and is ignored.
 *
 * The journal is created, and the directory flushed, with every snapshot and when a saved state is
 * loaded; a line is only ever appended to a journal made that way, never to one the append creates. So
 * the flush of the file alone makes a line durable, the first after a snapshot included: a new file's
 * directory entry is not on disk until the directory is flushed, and a power loss could lose it whole.
 *
 * Writes are chained, so two never interleave and the order of the calls is the order on disk.
 */
export class StateStore {
  readonly path: string;
  readonly journalPath: string;
  readonly #dir: string;
  #tail: Promise<void> = Promise.resolve();
  /** the last journal line numbered, written or not */
  #seq = 0;
  #journalBytes = 0;
  #snapshotBytes = 0;

  constructor(stateDir: string) {
    this.#dir = stateDir;
    this.path = join(stateDir, "state.json");
    this.journalPath = join(stateDir, "state.journal");
  }

  /** The saved state with the journal replayed on it, or undefined when no snapshot was ever written. */
  async load(): Promise<PersistedState | undefined> {
    const text = await readIfPresent(this.path);
    if (text === undefined) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new InvalidStateError(`${this.path}: not JSON (${(err as Error).message})`);
    }
    const { state, journalSeq } = decodeSnapshot(json);
    const changes = this.#decodeJournal((await readIfPresent(this.journalPath)) ?? "").filter((change) => change.seq > journalSeq);
    this.#seq = changes.reduce((last, change) => Math.max(last, change.seq), journalSeq);
    // The next append needs a journal whose entry is on disk, whoever made it (or lost it) before.
    await this.#createJournal();
    await this.#syncDir();
    return applyChanges(state, changes);
  }

  /** Writes a whole snapshot and empties the journal. */
  save(state: PersistedState): Promise<void> {
    const seq = this.#seq;
    return this.#chain(() => this.#snapshot(state, seq));
  }

  /**
   * Appends one command's change to the journal and flushes it; or, once the journal has outgrown the
   * snapshot, writes a snapshot of `current()` (the state with this change) instead.
   */
  record(change: Omit<StateChange, "seq">, current: () => PersistedState): Promise<void> {
    this.#seq += 1;
    const seq = this.#seq;
    return this.#chain(async () => {
      if (this.#journalBytes >= Math.max(MIN_COMPACT_BYTES, this.#snapshotBytes)) {
        await this.#snapshot(current(), seq);
        return;
      }
      const line = `${JSON.stringify({ ...change, seq })}\n`;
      try {
        // Opened per line and never created here, so a journal or state directory that went away fails the
        // write instead of going unnoticed (or into a file whose directory entry may not survive a power loss).
        const journal = await open(this.journalPath, constants.O_WRONLY | constants.O_APPEND);
        try {
          await journal.write(line);
          await journal.datasync();
        } finally {
          await journal.close();
        }
      } catch (err) {
        // The line may be on disk in part; the next change writes a snapshot, which empties the journal.
        this.#journalBytes = Number.POSITIVE_INFINITY;
        throw err;
      }
      this.#journalBytes += Buffer.byteLength(line);
    });
  }

  #chain(write: () => Promise<void>): Promise<void> {
    const next = this.#tail.then(write);
    // A failed write must not stop later ones; the caller of the failed one sees its error.
    this.#tail = next.catch(() => undefined);
    return next;
  }

  async #snapshot(state: PersistedState, journalSeq: number): Promise<void> {
    const text = `${JSON.stringify({ ...state, journalSeq }, null, 2)}\n`;
    const temporary = `${this.path}.${randomBytes(4).toString("hex")}.tmp`;
    // 0600: the state holds the SSH host private key.
    const handle = await open(temporary, "w", 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.#createJournal();
    await rename(temporary, this.path);
    // The rename must be on disk before the journal lines it replaces are dropped; the same flush makes
    // the journal's entry durable.
    await this.#syncDir();
    this.#snapshotBytes = Buffer.byteLength(text);
    await truncate(this.journalPath, 0);
    this.#journalBytes = 0;
  }

  /** Creates the journal when it is missing, keeping its lines when it is not; durable after `#syncDir`. */
  async #createJournal(): Promise<void> {
    // 0600: like the snapshot, the state directory's files are the simulator's alone.
    await (await open(this.journalPath, "a", 0o600)).close();
  }

  async #syncDir(): Promise<void> {
    const dir = await open(this.#dir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  #decodeJournal(text: string): StateChange[] {
    const lines = text.split("\n");
    // Whatever follows the last newline is a line cut short by a crash: it was never acknowledged.
    lines.pop();
    return lines.map((line, i) => {
      const at = `${this.journalPath} line ${i + 1}`;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (err) {
        throw new InvalidStateError(`${at}: not JSON (${(err as Error).message})`);
      }
      return decodeChange(json, at);
    });
  }
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
