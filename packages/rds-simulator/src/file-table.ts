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
 * Names are kept sorted (the order `/file print` lists them in) and the bytes in use are kept as a
 * running sum, so a lookup, a position or the free space does not cost more as the pool fills. The names
 * touched since the last `takeChanged()` are remembered for the state journal.
 */
export class FileTable {
  readonly #entries = new Map<string, FileEntry>();
  /** every name, sorted; parents before their children */
  readonly #names: string[];
  readonly #changed = new Set<string>();
  #usedBytes = 0;

  constructor(entries: readonly FileEntry[]) {
    for (const entry of entries) this.#entries.set(entry.name, entry);
    this.#names = [...this.#entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const entry of this.#entries.values()) this.#usedBytes += entry.size;
  }

  get(name: string): FileEntry | undefined {
    return this.#entries.get(name);
  }

  /** Sorted by name, so parents come before their children. */
  list(): FileEntry[] {
    return this.#names.map((name) => this.#entries.get(name)!);
  }

  /** 0-based position of `name` in `list()`; -1 when there is no such entry. */
  position(name: string): number {
    const at = this.#lowerBound(name);
    return this.#names[at] === name ? at : -1;
  }

  /** The entries whose names start with `prefix`, in list order (sorted names sharing a prefix are adjacent). */
  withPrefix(prefix: string): FileEntry[] {
    const found: FileEntry[] = [];
    for (let at = this.#lowerBound(prefix); at < this.#names.length && this.#names[at]!.startsWith(prefix); at++) {
      found.push(this.#entries.get(this.#names[at]!)!);
    }
    return found;
  }

  usedBytes(): number {
    return this.#usedBytes;
  }

  get count(): number {
    return this.#entries.size;
  }

  put(entry: FileEntry): void {
    this.#set(entry);
  }

  remove(name: string): void {
    const entry = this.#entries.get(name);
    if (entry === undefined) return;
    this.#entries.delete(name);
    this.#names.splice(this.#lowerBound(name), 1);
    this.#usedBytes -= entry.size;
    this.#changed.add(name);
  }

  /** The entries added, changed or removed since the last call: the ones still here and the names gone. */
  takeChanged(): { readonly put: FileEntry[]; readonly removed: string[] } {
    const put: FileEntry[] = [];
    const removed: string[] = [];
    for (const name of this.#changed) {
      const entry = this.#entries.get(name);
      if (entry === undefined) removed.push(name);
      else put.push(entry);
    }
    this.#changed.clear();
    return { put, removed };
  }

  #set(entry: FileEntry): void {
    const previous = this.#entries.get(entry.name);
    if (previous === undefined) this.#names.splice(this.#lowerBound(entry.name), 0, entry.name);
    this.#usedBytes += entry.size - (previous?.size ?? 0);
    this.#entries.set(entry.name, entry);
    this.#changed.add(entry.name);
  }

  /** The first position whose name is not below `name` (in the `<` order `list()` always had). */
  #lowerBound(name: string): number {
    let low = 0;
    let high = this.#names.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#names[middle]! < name) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
