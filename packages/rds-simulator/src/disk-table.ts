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

/** The file disks in creation order (the order `/disk print` lists them in). */
export class DiskTable {
  #items: DiskItem[];
  #nextId: number;

  constructor(items: readonly DiskItem[], nextId: number) {
    this.#items = [...items];
    this.#nextId = Math.max(nextId, ...items.map((item) => item.id + 1));
  }

  get nextId(): number {
    return this.#nextId;
  }

  list(): readonly DiskItem[] {
    return this.#items;
  }

  bySlot(slot: string): DiskItem | undefined {
    return this.#items.find((item) => item.slot === slot);
  }

  /** The disk item backed by this file (`raid10/x.img`, no leading slash), if any. */
  byFileName(name: string): DiskItem | undefined {
    return this.#items.find((item) => item.filePath === `/${name}`);
  }

  add(disk: NewDisk): DiskItem {
    const item = { ...disk, id: this.#nextId };
    this.#nextId += 1;
    this.#items.push(item);
    return item;
  }

  replace(item: DiskItem): void {
    this.#items = this.#items.map((existing) => (existing.id === item.id ? item : existing));
  }

  remove(ids: ReadonlySet<number>): void {
    this.#items = this.#items.filter((item) => !ids.has(item.id));
  }
}
