import {
  bareField,
  binarySizeField,
  bytesField,
  DETAIL_WRAP_MODES,
  DISK_FLAGS,
  diskRecord,
  fileRecord,
  foreignDiskRecords,
  formatPrintDetail,
  pathField,
  quotedField,
  yesNoField,
  type DetailWrapMode,
  type NumberedRecord,
  type RecordDraft,
  type RecordField,
} from "@rds-csi/rds-simulator";
import { readPrintOutput } from "../../src/routeros/parse-print-detail.js";

/**
 * The `print detail` reader against every way the RDS simulator can wrap a record (its `detailWrap` modes:
 * how RouterOS breaks a record wider than the console is not documented), at every console width, and
 * against a break at every single position of a record. The property: a record reads as exactly the fields
 * it was printed from, or it is unreadable (skipped and counted by listings) — never with another value.
 * The share of unreadable records is written to the test output; for a single break inside a key or a
 * value, it must be none.
 */

interface Tally {
  exact: number;
  unreadable: number;
  wrong: string[];
}

const tallies = new Map<string, Tally>();

function tally(name: string): Tally {
  let entry = tallies.get(name);
  if (!entry) tallies.set(name, (entry = { exact: 0, unreadable: 0, wrong: [] }));
  return entry;
}

afterAll(() => {
  const lines = [...tallies].map(([name, { exact, unreadable, wrong }]) => {
    const total = exact + unreadable + wrong.length;
    return `  ${name}: ${total} layouts, ${exact} read exactly, ${unreadable} unreadable (${((100 * unreadable) / total).toFixed(2)}%), ${wrong.length} misread`;
  });
  process.stdout.write(`print detail wrapping, share of records the reader refuses:\n${lines.join("\n")}\n`);
});

/** What the reader must return for a field: a quoted value unquoted, a grouped number without separators, else the text as printed. */
function expectedValue(field: RecordField): string {
  if (field.text.startsWith('"')) return field.value;
  return /^\d{1,3}(?: \d{3})+$/.test(field.text) ? field.text.replaceAll(" ", "") : field.text;
}

function expectedRecord(record: NumberedRecord): unknown {
  return {
    index: record.index,
    flags: record.flags,
    comment: record.comment === "" ? undefined : record.comment.trim(),
    fields: record.fields.map((field) => [field.name, expectedValue(field)]),
  };
}

/** Reads `output` and files each of `records` under exact, unreadable or wrong (with the output, to reproduce). */
function check(name: string, output: string, records: readonly NumberedRecord[]): void {
  const { records: read, unreadable } = readPrintOutput(output);
  const entry = tally(name);
  for (const record of records) {
    const found = read.find((candidate) => candidate.index === record.index);
    if (!found) {
      if (unreadable.some((item) => item.index === record.index)) entry.unreadable++;
      else entry.wrong.push(`record ${record.index} missing from\n${output}`);
      continue;
    }
    const got = { index: found.index, flags: found.flags, comment: found.comment, fields: [...found.fields] };
    if (JSON.stringify(got) === JSON.stringify(expectedRecord(record))) entry.exact++;
    else entry.wrong.push(`${JSON.stringify(got)}\nfrom\n${output}`);
  }
}

const VOLUME = "pvc-5b0c1d2e-7f3a-4c5b-9d6e-0123456789ab";

function volume(comment: string, exported: boolean): RecordDraft {
  return diskRecord(
    {
      id: 1,
      slot: VOLUME,
      filePath: `/raid10/vols/${VOLUME}.img`,
      comment,
      nvmeTcpExport: exported,
      nvmeTcpServerPort: 4420,
      nvmeTcpServerNqn: `nqn.2000-02.com.mikrotik:${VOLUME}`,
      nvmeTcpServerAllowHostName: "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-0000-0000-000000000001",
    },
    10 * 1024 ** 3,
  );
}

/** What the simulator prints for an RDS2216: the driver's volumes, other people's disks (RAID members, odd values, a path with spaces), a file. */
const SEEDED: readonly RecordDraft[] = [
  volume("rds-csi:v1 kind:volume", true),
  volume("", false),
  ...foreignDiskRecords("rds2216"),
  fileRecord({ name: `raid10/vols/${VOLUME}.img`, type: "file", size: 10 * 1024 ** 3, lastModified: "2026-11-26T10:00:00.000Z" }),
];

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

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)]!;
}

const KEYS = ["type", "slot", "model", "size", "free", "file-path", "file-size", "nvme-tcp-server-nqn", "nvme-tcp-server-port", "mount-point", "fs-label", "state", "serial", "parent", "sector-size", "swap"];
const TEXTS = ["", "a b", "QEMU HARDDISK", 'say "hi"', "back\\slash", "  padded  ", "$var", "ünïcode ✓", "a=b c=d", 'x="y" z', "pvc-1", `nqn.2000-02.com.mikrotik:${VOLUME}`];
const PATHS = ["/raid10/csi/pvc-1.img", `/raid10/vols/${VOLUME}.img`, "/raid10/other disks/x.img", "/raid10/a=b.img", `/raid10/${"deep/".repeat(12)}${VOLUME}.img`];
const BARE = ["no", "yes", "file", "-", "512", "0", "none", "auto"];
const COMMENTS = ["", "note", "rds-csi:v1 kind:volume", "kind=snapshot source=pvc-1 size=5368709120", `operator note: ${"keep this disk until the audit is over ".repeat(3).trim()}`];

function field(next: () => number, name: string): RecordField {
  const kind = next();
  if (kind < 0.3) return quotedField(name, pick(next, TEXTS));
  if (kind < 0.45) return pathField(name, pick(next, PATHS));
  if (kind < 0.6) return bytesField(name, Math.floor(next() * 10 ** (1 + Math.floor(next() * 14))));
  if (kind < 0.7) return binarySizeField(name, Math.floor(next() * 2 ** 40));
  if (kind < 0.8) return yesNoField(name, next() < 0.5);
  return bareField(name, pick(next, BARE));
}

function generated(next: () => number): RecordDraft {
  const keys = [...KEYS].sort(() => next() - 0.5).slice(0, 2 + Math.floor(next() * (KEYS.length - 2)));
  // Now and then a key the reader's table does not know: it must still never read wrong.
  if (next() < 0.2) keys.splice(Math.floor(next() * keys.length), 0, "x-new-field");
  return { flags: pick(next, ["", "B", "Bt", "X"]), comment: pick(next, COMMENTS), fields: keys.map((key) => field(next, key)) };
}

function numbered(records: readonly RecordDraft[]): NumberedRecord[] {
  return records.map((record, index) => ({ ...record, index: index * 7 }));
}

/** Narrower consoles leave a record a few characters per line; the single-break test covers every position anyway. */
const NARROWEST = 24;

/** The width at which a record no longer wraps. */
function unwrappedWidth(record: NumberedRecord, mode: DetailWrapMode): number {
  return Math.max(...formatPrintDetail([record], DISK_FLAGS, 100_000, mode).split("\r\n").map((line) => line.length));
}

describe("print detail read under every wrapping the simulator offers, at every width", () => {
  it.each(DETAIL_WRAP_MODES)(`%s: each seeded record alone, at every width from ${NARROWEST} to unwrapped`, (mode) => {
    for (const record of numbered(SEEDED)) {
      for (let width = NARROWEST; width <= unwrappedWidth(record, mode); width++) {
        check(`${mode}, seeded records`, formatPrintDetail([record], DISK_FLAGS, width, mode), [record]);
      }
    }
    expect(tally(`${mode}, seeded records`).wrong).toEqual([]);
  });

  it.each(DETAIL_WRAP_MODES)("%s: the whole seeded listing at widths 24 to 260", (mode) => {
    const records = numbered(SEEDED);
    for (let width = 24; width <= 260; width += 4) check(`${mode}, seeded listing`, formatPrintDetail(records, DISK_FLAGS, width, mode), records);
    expect(tally(`${mode}, seeded listing`).wrong).toEqual([]);
  });

  it.each(DETAIL_WRAP_MODES)("%s: generated records and listings (quotes, spaces, =, long paths, unknown keys)", (mode) => {
    for (let seed = 1; seed <= 400; seed++) {
      const next = random(seed);
      const records = numbered(Array.from({ length: 1 + Math.floor(next() * 4) }, () => generated(next)));
      for (let round = 0; round < 6; round++) {
        const width = NARROWEST + Math.floor(next() * 180);
        check(`${mode}, generated`, formatPrintDetail(records, DISK_FLAGS, width, mode), records);
      }
    }
    expect(tally(`${mode}, generated`).wrong).toEqual([]);
  });
});

describe("print detail broken at every position of a record's fields", () => {
  /** Where each position of the fields' text (pairs joined by spaces) lies: in a key, at its `=`, in a value, or on a separator. */
  function places(record: NumberedRecord): string[] {
    return record.fields.flatMap((field, position) => [
      ...(position > 0 ? ["separator"] : []),
      ...Array.from(field.name, () => "key"),
      "=",
      ...Array.from(field.text, (char) =>
        field.text.startsWith('"') ? "quoted value" : char === " " && /^\d{1,3}(?: \d{3})+$/.test(field.text) ? "number group space" : "bare value",
      ),
    ]);
  }

  const next = random(7);
  // Without their comments: a comment is cut at the width like any line, which the every-width tests cover.
  const records = numbered([...SEEDED, ...Array.from({ length: 150 }, () => generated(next))]).map((record) => ({ ...record, comment: "" }));

  /** The record's first line as the simulator prints it unwrapped: what leads the fields, and the fields. */
  function unwrapped(record: NumberedRecord): { head: string[]; lead: string; text: string } {
    const printed = formatPrintDetail([record], DISK_FLAGS, 100_000, "cut").split("\r\n");
    const head = printed[0]!.startsWith("Flags:") ? [printed[0]!] : [];
    const text = record.fields.map((field) => `${field.name}=${field.text}`).join(" ");
    return { head, lead: printed[head.length]!.slice(0, -text.length), text };
  }

  it("reads a record broken once (the rest fitting on the next line), as printed or with the space a wrap replaced", () => {
    for (const record of records) {
      const { head, lead, text } = unwrapped(record);
      const indent = " ".repeat(lead.length);
      const where = places(record);
      for (let at = 1; at < text.length; at++) {
        const first = `${lead}${text.slice(0, at)}`;
        // A cut fills its line to the width: only a break whose rest fits under it is a single break.
        if (indent.length + text.length - at <= first.length) {
          check(`single break, ${where[at]!}`, [...head, first, `${indent}${text.slice(at)}`, ""].join("\r\n"), [record]);
        }
        // `pairs` replaces a separating space by the break, `words` a space between digit groups; the line needs not be full.
        if (where[at] === "separator" || where[at] === "number group space") {
          check(`single break, space replaced, ${where[at]!}`, [...head, first, `${indent}${text.slice(at + 1)}`, ""].join("\r\n"), [record]);
        }
      }
    }
    const single = [...tallies].filter(([name]) => name.startsWith("single break"));
    expect(single.flatMap(([, entry]) => entry.wrong)).toEqual([]);
    // Inside keys, at `=` and inside values no single break is ambiguous.
    const inside = single.filter(([name]) => !name.includes("separator"));
    expect(inside.map(([name, entry]) => [name, entry.unreadable])).toEqual(inside.map(([name]) => [name, 0]));
  });

  it("reads a record whose first break falls at each position (cut at that width, the rest cut likewise)", () => {
    // The seeded records and a few generated ones: at a few columns per line a record runs to hundreds of lines.
    for (const record of records.slice(0, SEEDED.length + 20)) {
      const { lead, text } = unwrapped(record);
      const where = places(record);
      for (let at = 1; at < text.length; at++) {
        check(`first break, ${where[at]!}`, formatPrintDetail([record], DISK_FLAGS, lead.length + at, "cut"), [record]);
      }
    }
    expect([...tallies].filter(([name]) => name.startsWith("first break")).flatMap(([, entry]) => entry.wrong)).toEqual([]);
  });
});
