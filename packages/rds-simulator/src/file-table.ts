/** A `/file` entry. Names are RouterOS file names: no leading slash (`raid10/vols/x.img`). */
export interface FileEntry {
  readonly name: string;
  readonly type: "file" | "directory";
  /** bytes; 0 for a directory */
  readonly size: number;
  /** ISO timestamp */
  readonly lastModified: string;
}

/**
 * The catalogue of files and directories on the pool. The bytes live in real sparse files
 * (BackingFiles); this table is what RouterOS reports and what the pool's free space is computed from:
 * a file counts with its full size, as a thick file-backed disk would, however sparse it is on the host.
 */
export class FileTable {
  readonly #entries = new Map<string, FileEntry>();

  constructor(entries: readonly FileEntry[]) {
    for (const entry of entries) this.#entries.set(entry.name, entry);
  }

  get(name: string): FileEntry | undefined {
    return this.#entries.get(name);
  }

  /** Sorted by name, so parents come before their children. */
  list(): FileEntry[] {
    return [...this.#entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  usedBytes(): number {
    let used = 0;
    for (const entry of this.#entries.values()) used += entry.size;
    return used;
  }

  get count(): number {
    return this.#entries.size;
  }

  put(entry: FileEntry): void {
    this.#entries.set(entry.name, entry);
  }

  remove(name: string): void {
    this.#entries.delete(name);
  }
}
