import { randomBytes } from "node:crypto";
import { open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { decodeState, InvalidStateError, type PersistedState } from "./persisted-state.js";

/**
 * Reads and writes `<stateDir>/state.json`. A write goes to a temporary file that is flushed and then
 * renamed over the old one, so a crash leaves either the old or the new state, never half of one.
 * Writes are chained, so two saves never interleave and the last one called is the last one on disk.
 */
export class StateStore {
  readonly path: string;
  #tail: Promise<void> = Promise.resolve();

  constructor(stateDir: string) {
    this.path = join(stateDir, "state.json");
  }

  /** The saved state, or undefined when none was ever written. */
  async load(): Promise<PersistedState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new InvalidStateError(`${this.path}: not JSON (${(err as Error).message})`);
    }
    return decodeState(json);
  }

  save(state: PersistedState): Promise<void> {
    const write = this.#tail.then(() => this.#write(state));
    // A failed write must not stop later ones; the caller of the failed one sees its error.
    this.#tail = write.catch(() => undefined);
    return write;
  }

  async #write(state: PersistedState): Promise<void> {
    const temporary = `${this.path}.${randomBytes(4).toString("hex")}.tmp`;
    // 0600: the state holds the SSH host private key.
    const handle = await open(temporary, "w", 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.path);
  }
}
