import { isDeepStrictEqual } from "node:util";
import { type LaidOutRecord, writePrintDetail } from "../../test/routeros/fixtures/print-detail-writer.js";
import { parsePrintDetail } from "./parse-print-detail.js";

/**
 * Random listings, laid out by the test writer from the documented layout, must read back as the records
 * they were made from. The parser reads each record against the one before it (same keys, same strings),
 * so the listings here are runs of records that share, drop, add and reorder keys and repeat values.
 */

interface ModelRecord {
  readonly laidOut: LaidOutRecord;
  readonly fields: [string, string][];
}

/** A small deterministic PRNG (mulberry32), so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ["slot", "type", "size", "file-size", "sector-size", "file-path", "nvme-tcp-export", "nvme-tcp-server-nqn", "model", "a", "x-1"];
const WORDS = ["", "no", "yes", "file", "pvc-1", "pvc-2", "/raid10/csi/pvc-1.img", "nqn.2000-02.com.mikrotik:pvc-1", "512", "0", "a.b-c/d"];
const QUOTED = ["", "a b", "QEMU HARDDISK", 'say "hi"', "back\\slash", "pvc-1", "  padded  ", "$var", "ünïcode ✓", "no"];
const FLAGS = ["", "B", "Bt", "X", "t", "BM"];
const COMMENTS = ["note", "two words", "rds-csi:v1 kind=volume", "ends with space "];

function quote(value: string): string {
  return `"${value.replace(/[\\"$]/gu, (char) => `\\${char}`)}"`;
}

function grouped(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/gu, " ");
}

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

/** A value and how it is printed: bare, empty, quoted (escaped) or a grouped number. */
function value(next: () => number): [printed: string, read: string] {
  const kind = next();
  if (kind < 0.4) {
    const word = pick(next, WORDS);
    return [word, word];
  }
  if (kind < 0.75) {
    const text = pick(next, QUOTED);
    return [quote(text), text];
  }
  const digits = String(Math.floor(next() * 10 ** (1 + Math.floor(next() * 13))));
  return [grouped(digits), digits];
}

function keysFor(next: () => number, previous: readonly string[]): string[] {
  const choice = next();
  if (previous.length > 0 && choice < 0.5) return [...previous];
  if (previous.length > 1 && choice < 0.6) return previous.slice(0, 1 + Math.floor(next() * (previous.length - 1)));
  if (previous.length > 0 && choice < 0.7) {
    const extra = KEYS.filter((key) => !previous.includes(key));
    return extra.length > 0 ? [...previous, pick(next, extra)] : [...previous];
  }
  const shuffled = [...KEYS].sort(() => next() - 0.5);
  return shuffled.slice(0, Math.floor(next() * (KEYS.length + 1)));
}

function listing(next: () => number): ModelRecord[] {
  const records: ModelRecord[] = [];
  let keys: string[] = [];
  let previousValues = new Map<string, [string, string]>();
  let index = Math.floor(next() * 3);
  const count = 1 + Math.floor(next() * 6);
  for (let n = 0; n < count; n++) {
    keys = keysFor(next, keys);
    // Records repeat many of the values before them; that is what the parser shares.
    const values = keys.map((key): [string, string] => (previousValues.has(key) && next() < 0.5 ? previousValues.get(key)! : value(next)));
    previousValues = new Map(keys.map((key, position) => [key, values[position]!]));
    const comment = next() < 0.3 ? pick(next, COMMENTS) : undefined;
    records.push({
      laidOut: {
        index,
        flags: pick(next, FLAGS),
        ...(comment === undefined ? {} : { comment, commentOnOwnLine: next() < 0.5 }),
        pairs: keys.map((key, position) => `${key}=${values[position]![0]}`),
      },
      fields: keys.map((key, position) => [key, values[position]![1]]),
    });
    index += 1 + Math.floor(next() * (next() < 0.1 ? 200 : 2));
  }
  return records;
}

describe("parsePrintDetail on random listings", () => {
  it("reads every record as it was made, at any terminal width", () => {
    for (let seed = 1; seed <= 3_000; seed++) {
      const next = random(seed);
      const records = listing(next);
      // From 40 columns on, a key always fits on a line: the terminal breaks between pairs or inside a value.
      const width = 40 + Math.floor(next() * 100);
      const output = writePrintDetail(
        records.map((record) => record.laidOut),
        { width, separator: pick(next, ["", " "]) },
      );
      const read = parsePrintDetail(next() < 0.5 ? output : output.replaceAll("\n", "\r\n")).map((record) => ({
        index: record.index,
        flags: record.flags,
        comment: record.comment,
        fields: [...record.fields],
      }));
      const expected = records.map((record) => ({
        index: record.laidOut.index,
        flags: record.laidOut.flags,
        comment: record.laidOut.comment?.trim(),
        fields: record.fields,
      }));
      // jest's diff only for a mismatch: it costs more than the parse.
      if (!isDeepStrictEqual(read, expected)) expect({ seed, output, read }).toEqual({ seed, output, read: expected });
    }
  });
});
