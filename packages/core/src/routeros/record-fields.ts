/**
 * The keys of a `print detail` record in print order. A listing prints the same keys record after
 * record, so records share one layout and each keeps only its values: a 10,000-disk listing then costs
 * 10,000 small arrays rather than 10,000 hash tables, which is what made parsing it garbage-bound.
 */
export class FieldLayout {
  readonly keys: readonly string[];
  // A Map rather than an object: a key such as `constructor` must read as itself, never as a prototype member.
  readonly #positions: ReadonlyMap<string, number>;

  constructor(keys: readonly string[]) {
    this.keys = keys;
    this.#positions = new Map(keys.map((key, position) => [key, position]));
    if (this.#positions.size !== keys.length) throw new Error(`duplicate key in field layout: ${keys.join(", ")}`);
  }

  positionOf(key: string): number | undefined {
    return this.#positions.get(key);
  }
}

/** A record's fields: read-only, in print order, looked up by exact key. */
export class RecordFields implements ReadonlyMap<string, string> {
  readonly layout: FieldLayout;
  /** `#values[i]` belongs to `layout.keys[i]`. */
  readonly #values: readonly string[];

  constructor(layout: FieldLayout, values: readonly string[]) {
    if (values.length !== layout.keys.length) {
      throw new Error(`field layout has ${layout.keys.length} keys but ${values.length} values`);
    }
    this.layout = layout;
    this.#values = values;
  }

  get size(): number {
    return this.#values.length;
  }

  /** The value printed in `position` (the parser compares a record with the one before it). */
  valueAt(position: number): string | undefined {
    return this.#values[position];
  }

  get(key: string): string | undefined {
    const position = this.layout.positionOf(key);
    return position === undefined ? undefined : this.#values[position];
  }

  has(key: string): boolean {
    return this.layout.positionOf(key) !== undefined;
  }

  forEach(callback: (value: string, key: string, fields: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    this.layout.keys.forEach((key, position) => callback.call(thisArg, this.#values[position]!, key, this));
  }

  keys(): MapIterator<string> {
    return this.layout.keys.values();
  }

  values(): MapIterator<string> {
    return this.#values.values();
  }

  entries(): MapIterator<[string, string]> {
    return this.layout.keys.map((key, position): [string, string] => [key, this.#values[position]!]).values();
  }

  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }
}
