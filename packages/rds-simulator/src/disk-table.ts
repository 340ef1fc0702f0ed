/** A `type=file` disk item. Its size is the size of its file (see FileTable). */
export interface DiskItem {
  /** internal id, never printed; keeps items apart when slots are compared */
  readonly id: number;
  readonly slot: string;
  /** RouterOS path with its leading slash: `/raid10/vols/x.img` */
  readonly filePath: string;
  readonly comment: string;
  readonly nvmeTcpExport: boolean;
  readonly nvmeTcpServerPort: number;
  /** empty: initiators see the slot as the subsystem NQN */
  readonly nvmeTcpServerNqn: string;
  /** comma-separated host NQNs; empty: any host */
  readonly nvmeTcpServerAllowHostName: string;
}

export type NewDisk = Omit<DiskItem, "id">;

/**
 * The file disks in creation order (the order `/disk print` lists them in), indexed by slot and by
 * file, so that looking one disk up costs the same with ten disks as with ten thousand. Ids only grow,
 * so creation order is id order and a disk's position is a binary search. The ids touched since the
 * last `takeChanged()` are remembered for the state journal.
 */
export class DiskTable {
  #items: DiskItem[];
  readonly #bySlot = new Map<string, DiskItem>();
  readonly #byFilePath = new Map<string, DiskItem>();
  readonly #changed = new Set<number>();
  #nextId: number;

  constructor(items: readonly DiskItem[], nextId: number) {
    this.#items = [...items].sort((a, b) => a.id - b.id);
    for (const item of this.#items) this.#index(item);
    this.#nextId = Math.max(nextId, ...items.map((item) => item.id + 1));
  }

  get nextId(): number {
    return this.#nextId;
  }

  get count(): number {
    return this.#items.length;
  }

  list(): readonly DiskItem[] {
    return this.#items;
  }

  bySlot(slot: string): DiskItem | undefined {
    return this.#bySlot.get(slot);
  }

  /** The disk item whose `file-path` is `path` (`/raid10/x.img`), if any. */
  byFilePath(path: string): DiskItem | undefined {
    return this.#byFilePath.get(path);
  }

  /** The disk item backed by this file (`raid10/x.img`, no leading slash), if any. */
  byFileName(name: string): DiskItem | undefined {
    return this.byFilePath(`/${name}`);
  }

  /** 0-based position in creation order; -1 when the item is not in the table. */
  position(item: DiskItem): number {
    const at = this.#lowerBound(item.id);
    return this.#items[at]?.id === item.id ? at : -1;
  }

  add(disk: NewDisk): DiskItem {
    const item = { ...disk, id: this.#nextId };
    this.#nextId += 1;
    this.#items.push(item);
    this.#index(item);
    this.#changed.add(item.id);
    return item;
  }

  replace(item: DiskItem): void {
    const at = this.position(item);
    if (at < 0) return;
    this.#unindex(this.#items[at]!);
    this.#items[at] = item;
    this.#index(item);
    this.#changed.add(item.id);
  }

  remove(ids: ReadonlySet<number>): void {
    if (ids.size === 0) return;
    this.#items = this.#items.filter((item) => {
      if (!ids.has(item.id)) return true;
      this.#unindex(item);
      this.#changed.add(item.id);
      return false;
    });
  }

  /** The disks added, changed or removed since the last call: the ones still here and the ids gone. */
  takeChanged(): { readonly put: DiskItem[]; readonly removed: number[] } {
    const put: DiskItem[] = [];
    const removed: number[] = [];
    for (const id of this.#changed) {
      const item = this.#items[this.#lowerBound(id)];
      if (item?.id === id) put.push(item);
      else removed.push(id);
    }
    this.#changed.clear();
    return { put, removed };
  }

  #lowerBound(id: number): number {
    let low = 0;
    let high = this.#items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#items[middle]!.id < id) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #index(item: DiskItem): void {
    this.#bySlot.set(item.slot, item);
    this.#byFilePath.set(item.filePath, item);
  }

  #unindex(item: DiskItem): void {
    if (this.#bySlot.get(item.slot) === item) this.#bySlot.delete(item.slot);
    if (this.#byFilePath.get(item.filePath) === item) this.#byFilePath.delete(item.filePath);
  }
}
