import { InternalError } from "../errors.js";
import { listFixtures, readFixture } from "../../test/routeros/fixtures/fixture-files.js";
import { DETAIL_WRAP_MODES, DISK_FLAGS, formatPrintDetail, type NumberedRecord } from "@rds-csi/rds-simulator";
import { SAMPLE_RECORDS } from "../../test/routeros/fixtures/sample-records.js";
import { parsePrintDetail, readPrintOutput, type RouterOsRecord } from "./parse-print-detail.js";

interface PlainRecord {
  index: number;
  flags: string;
  comment?: string;
  fields: Record<string, string>;
}

function plain(records: readonly RouterOsRecord[]): PlainRecord[] {
  return records.map((record) => ({
    index: record.index,
    flags: record.flags,
    ...(record.comment !== undefined ? { comment: record.comment } : {}),
    fields: Object.fromEntries(record.fields),
  }));
}

function onlyRecord(output: string): RouterOsRecord {
  const records = parsePrintDetail(output);
  expect(records).toHaveLength(1);
  return records[0]!;
}

function expectUnreadable(output: string, message: RegExp): void {
  expect(() => parsePrintDetail(output)).toThrow(InternalError);
  expect(() => parsePrintDetail(output)).toThrow(message);
}

const LEGEND = "Flags: X - DISABLED; B - BLOCK-DEVICE; M - MOUNTED; t - NVME-TCP-EXPORT";

describe("parsePrintDetail golden files", () => {
  const fixtures = listFixtures("print-detail", ".txt");

  it("has the fixtures this suite is about", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(15);
  });

  it.each(fixtures)("%s reads as its .json", (name) => {
    const expected = JSON.parse(readFixture(`print-detail/${name.replace(/\.txt$/, ".json")}`)) as PlainRecord[];
    expect(plain(parsePrintDetail(readFixture(`print-detail/${name}`)))).toEqual(expected);
  });

  it.each(fixtures)("%s reads the same with CRLF line ends", (name) => {
    const text = readFixture(`print-detail/${name}`);
    expect(plain(parsePrintDetail(text.replaceAll("\n", "\r\n")))).toEqual(plain(parsePrintDetail(text)));
  });
});

describe("parsePrintDetail on the RDS2216 samples", () => {
  it("reads the real wide disk record, exact size from size= and never file-size=", () => {
    const disk = onlyRecord(readFixture("print-detail/disk-volume-wide.txt"));
    expect(disk.index).toBe(31);
    expect(disk.flags).toBe("Bt");
    expect(disk.comment).toBeUndefined();
    expect(disk.fields.get("slot")).toBe("vm-storage-001");
    expect(disk.fields.get("size")).toBe("1099511627776");
    expect(disk.fields.get("file-size")).toBe("1024.0GiB");
    expect(disk.fields.get("sector-size")).toBe("512");
    expect(disk.fields.get("nvme-tcp-server-allow-host-name")).toBe("");
    expect(disk.fields.get("file-path")).toBe("/raid10/vm-storage-001.img");
  });

  it("reads the real pool record with its single-space separator line", () => {
    const pool = onlyRecord(readFixture("print-detail/pool-raid.txt"));
    expect(pool.flags).toBe("BM");
    expect(pool.fields.get("mount-point")).toBe("raid10");
    expect(pool.fields.get("size")).toBe("16003143565312");
    expect(pool.fields.get("free")).toBe("14789895307264");
    expect(pool.fields.get("free-inodes")).toBe("1562806652");
    expect(pool.fields.get("model")).toBe("RAID0 striped");
  });

  it("reads the protocol doc's record wrapped at 80 columns, with a value broken mid-way", () => {
    const disk = onlyRecord(readFixture("print-detail/disk-volume-80.txt"));
    expect(disk.comment).toBe("rds-csi:v1 kind=volume");
    expect(disk.fields.get("nvme-tcp-server-nqn")).toBe("nqn.2000-02.com.mikrotik:pvc-5b0c1d2e-7f3a-4c5b-9d6e-0123456789ab");
    expect(disk.fields.get("file-path")).toBe("/raid10/vols/pvc-5b0c1d2e-7f3a-4c5b-9d6e-0123456789ab.img");
  });
});

describe("parsePrintDetail layout", () => {
  it.each([
    ["nothing", ""],
    ["a newline", "\n"],
    ["blank and single-space lines", "\n \n\n"],
    ["only the legend", `${LEGEND}\n`],
    ["only a wrapped legend", readFixture("print-detail/legend-wrapped-only.txt")],
  ])("reads %s as no records", (_, output) => {
    expect(parsePrintDetail(output)).toEqual([]);
  });

  it("reads mixed flags: X, Bt, BM, a lone t, and none", () => {
    const records = parsePrintDetail(readFixture("print-detail/disks-several.txt"));
    expect(records.map((record) => record.flags)).toEqual(["BM", "Bt", "X", "B", "t"]);
    expect(parsePrintDetail(readFixture("print-detail/files-under.txt")).map((record) => record.flags)).toEqual(["", "", "", ""]);
  });

  it("reads comments on the index line, on their own line, and wrapped", () => {
    const records = parsePrintDetail(readFixture("print-detail/disks-several.txt"));
    expect(records.map((record) => record.comment)).toEqual([
      undefined,
      "rds-csi:v1 kind=volume",
      "manual copy, do not delete",
      "rds-csi:v1 kind=snapshot source=pvc-0a1b2c3d-0000-4000-8000-000000000001 size=5368709120 created=2026-11-26T10:00:00.123Z strategy=disk-copy-from",
      undefined,
    ]);
    // The comment's own `size=` never becomes a field: the record's size is the disk's.
    expect(records[3]!.fields.get("size")).toBe("5368709120");
    expect(records[3]!.fields.has("source")).toBe(false);
  });

  it("reads records that follow each other without a separator line", () => {
    const records = parsePrintDetail(readFixture("print-detail/disks-no-separator.txt"));
    expect(records.map((record) => [record.index, record.fields.get("slot")])).toEqual([
      [8, "pvc-a"],
      [9, "pvc-b"],
      [10, "snap-c"],
      [11, "snap-d"],
    ]);
  });

  it("tells a continuation line that starts with digits from the next index line", () => {
    const records = parsePrintDetail(readFixture("print-detail/spaced-numbers-wrapped.txt"));
    expect(records.map((record) => record.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it("splits on key boundaries only: size= is not file-size= or sector-size=", () => {
    const record = onlyRecord(" 0 file-size=10.0GiB sector-size=512 size=1 024 raid-size=7 type=x subtype=y\n");
    expect(Object.fromEntries(record.fields)).toEqual({
      "file-size": "10.0GiB",
      "sector-size": "512",
      size: "1024",
      "raid-size": "7",
      type: "x",
      subtype: "y",
    });
  });

  it("keeps spaces inside bare values and reads empty values", () => {
    const record = onlyRecord(' 0 last-modified=2026-11-26 10:00:00 fs-label= slot-default="" type=.img file\n');
    expect(Object.fromEntries(record.fields)).toEqual({
      "last-modified": "2026-11-26 10:00:00",
      "fs-label": "",
      "slot-default": "",
      type: ".img file",
    });
  });

  it("strips separators from grouped numbers only", () => {
    const record = onlyRecord(' 0 size=10 737 418 240 odd=12 34 quoted="1 024" version=7.16.1 (stable)\n');
    expect(record.fields.get("size")).toBe("10737418240");
    expect(record.fields.get("odd")).toBe("12 34");
    expect(record.fields.get("quoted")).toBe("1 024");
    expect(record.fields.get("version")).toBe("7.16.1 (stable)");
  });

  it("decodes every RouterOS escape in quoted values", () => {
    const [first, second] = parsePrintDetail(readFixture("print-detail/quoted-escapes.txt"));
    expect(first!.fields.get("model")).toBe('say "hi" \\ costs $5? tab\there end');
    expect(first!.fields.get("parent")).toBe("café €");
    expect(first!.fields.get("slot-default")).toBe("line\nbreak\rreturn");
    expect(first!.fields.get("fs-label")).toBe("bell\x07 back\b form\f vtab\v");
    expect(first!.fields.get("serial")).toBe("unknown q escape");
    expect(second!.fields.get("model")).toBe("ends with backslash \\");
    expect(second!.fields.get("parent")).toBe('split escape "quoted" across a wrap');
    expect(second!.fields.get("fs-label")).toBe('"');
    expect(second!.fields.get("raid-uuid")).toBe('backslash at the break "quote');
  });

  it("reads a value that starts on the line after its key (cut at the width right after `=`)", () => {
    const record = onlyRecord(' 0 type=file slot=\n   "pvc-12" model=\n   /raid10/x size=\n   1 024\n');
    expect(Object.fromEntries(record.fields)).toEqual({ type: "file", slot: "pvc-12", model: "/raid10/x", size: "1024" });
  });

  it("reads output that does not end with a newline", () => {
    expect(plain(parsePrintDetail(' 0 B  type=file slot="a"\n\n 1 B  type=file slot="b"'))).toEqual([
      { index: 0, flags: "B", fields: { type: "file", slot: "a" } },
      { index: 1, flags: "B", fields: { type: "file", slot: "b" } },
    ]);
  });

  it("reads a record with only an index and flags as a record without fields", () => {
    expect(plain(parsePrintDetail(" 0 X\n"))).toEqual([{ index: 0, flags: "X", fields: {} }]);
  });

  it("keeps a quoted value's spaces that fall at a break", () => {
    const record = onlyRecord(' 0 model="two \n   spaces" parent="lead\n    space"\n');
    expect(record.fields.get("model")).toBe("two spaces");
    expect(record.fields.get("parent")).toBe("lead space");
  });
});

describe("parsePrintDetail reads each record against the one before it", () => {
  it("keeps each record's own values when records print the same keys", () => {
    const output = ' 0 Bt ;;; same\n    slot="a" size=1 024 type=file\n\n 1 Bt ;;; same\n    slot="b" size=1024 type=file\n\n 2 B ;;; other\n    slot="a" size=2 048 type=disk\n';
    expect(plain(parsePrintDetail(output))).toEqual([
      { index: 0, flags: "Bt", comment: "same", fields: { slot: "a", size: "1024", type: "file" } },
      { index: 1, flags: "Bt", comment: "same", fields: { slot: "b", size: "1024", type: "file" } },
      { index: 2, flags: "B", comment: "other", fields: { slot: "a", size: "2048", type: "disk" } },
    ]);
  });

  it("reads the same text quoted, escaped and bare as the same value, and different text as different", () => {
    const output = ' 0 model="a b" parent=x\n 1 model="a\\_b" parent="x"\n 2 model="a\\_c" parent=\n 3 model="a b" parent=x y\n';
    expect(parsePrintDetail(output).map((record) => Object.fromEntries(record.fields))).toEqual([
      { model: "a b", parent: "x" },
      { model: "a b", parent: "x" },
      { model: "a c", parent: "" },
      { model: "a b", parent: "x y" },
    ]);
  });

  it("reads records whose keys are fewer, more, or different from the record before", () => {
    const output = " 0 a=1 b=2 c=3\n 1 a=1 b=2\n 2 a=1 b=2 c=3 d=4\n 3 a=1 x=2 c=3\n 4 b=1\n 5 a=1 x=2 c=3\n";
    expect(parsePrintDetail(output).map((record) => [...record.fields])).toEqual([
      [["a", "1"], ["b", "2"], ["c", "3"]],
      [["a", "1"], ["b", "2"]],
      [["a", "1"], ["b", "2"], ["c", "3"], ["d", "4"]],
      [["a", "1"], ["x", "2"], ["c", "3"]],
      [["b", "1"]],
      [["a", "1"], ["x", "2"], ["c", "3"]],
    ]);
  });

  it("refuses a key twice in a record that starts like the one before", () => {
    expectUnreadable(" 0 a=1 b=2 c=3\n 1 a=1 b=2 a=3\n", /record 1: field "a" appears twice/);
  });

  it("reads fields named like Object.prototype members as fields, and only those", () => {
    const [first, second] = parsePrintDetail(" 0 constructor=x to-string=y\n 1 type=file\n");
    expect(first!.fields.get("constructor")).toBe("x");
    expect(first!.fields.get("toString")).toBeUndefined();
    expect(second!.fields.get("constructor")).toBeUndefined();
    expect(second!.fields.has("__proto__")).toBe(false);
    expect(second!.fields.has("hasOwnProperty")).toBe(false);
  });
});

describe("parsePrintDetail refuses what it cannot read", () => {
  it.each([
    ["text before the first record", "hello\n 0 type=file\n", /unexpected line "hello"/],
    ["a legend after records", ` 0 type=file\n\n${LEGEND}\n`, /unexpected line "Flags:/],
    ["a second record without an index", " 0 type=file\n\n      type=disk\n", /unexpected line/],
    ["a quoted value that never ends", ' 0 slot="pvc-1 type=file\n      size=1\n', /quoted value of "slot" never ends/],
    ["a quoted value cut off by the next record", ' 0 slot="pvc-1\n 1 slot="pvc-2"\n', /quoted value of "slot" never ends/],
    ["a key twice", " 0 size=1 type=file size=2\n", /field "size" appears twice/],
    ["text glued to a closing quote", ' 0 slot="a"b type=file\n', /unexpected "b type=file"/],
    ["text glued to a quote that closes on a continuation line", ' 0 slot="a\n      "b=c\n', /unexpected "b=c"/],
    ["text where a key was expected", " 0 Bt 5 type=file\n", /record 0: unexpected "5 type=file"/],
    ["a continuation after a closed quoted value", ' 0 slot="a"\n      more\n', /unexpected "more"/],
    ["a word after a quoted value", ' 0 slot="a" garbage type=file\n', /unexpected "garbage type=file"/],
    ["a continuation before any pair", " 0 Bt\n      not a pair\n", /unexpected "not a pair"/],
  ])("%s", (_, output, message) => {
    expectUnreadable(output, message);
  });

  it("shows control characters escaped and cuts long text in its message", () => {
    expectUnreadable(`\x1b[31m${"x".repeat(500)}\n`, /unexpected line "\\u\{1B\}\[31mx+… \(\d+ more characters\)"/);
  });
});

describe("readPrintOutput: one record it cannot read leaves the others readable", () => {
  it("isolates a record broken inside a key where no wrap breaks, a quote that never ends and a key twice, keeping their text", () => {
    // Record 0 is broken inside a key on a line shorter than the next: no wrap cuts there, and with a space
    // at the break the key's first half would be a word of the port's value, which no bare number holds.
    const output = [
      ' 0 Bt type=file slot="pvc-1" nvme-tcp-server-port=4420 nvme-tcp-se',
      '       rver-nqn="nqn.2000-02.com.mikrotik:pvc-1" file-path=/raid10/csi/pvc-1.img',
      " ",
      ' 1 Bt type=file slot="pvc-2" file-path=/raid10/csi/pvc-2.img',
      " ",
      ' 2 B  type=file slot="pvc-3 file-path=/raid10/csi/pvc-3.img',
      ' 3 B  type=file slot="pvc-4" slot="pvc-4"',
      ' 4 B  type=file slot="pvc-5"',
      " ",
      "garbage between records",
      "",
    ].join("\r\n");
    const { records, unreadable } = readPrintOutput(output);
    expect(plain(records).map((record) => [record.index, record.fields.slot])).toEqual([
      [1, "pvc-2"],
      [4, "pvc-5"],
    ]);
    expect(unreadable.map((record) => [record.index, record.reason])).toEqual([
      [0, expect.stringMatching(/record 0: the bare value of "nvme-tcp-server-port" holds a space: "4420 nvme-tcp-se"/)],
      [2, expect.stringMatching(/quoted value of "slot" never ends/)],
      [3, expect.stringMatching(/field "slot" appears twice/)],
      [undefined, expect.stringMatching(/unexpected line "garbage between records"/)],
    ]);
    expect(unreadable[1]!.text).toBe(' 2 B  type=file slot="pvc-3 file-path=/raid10/csi/pvc-3.img');
    expect(() => parsePrintDetail(output)).toThrow(/record 0: the bare value of "nvme-tcp-server-port" holds a space/);
  });

  it("reads a record broken inside a key at the width (nvme-tcp-se / rver-nqn=) with the NQN it was printed with", () => {
    // The old reader took `nvme-tcp-se` for more of the port's value and `rver-nqn` for a key of its own.
    const output = [
      ' 0 Bt type=file slot="pvc-1" nvme-tcp-server-port=4420 nvme-tcp-se',
      '      rver-nqn="nqn.2000-02.com.mikrotik:pvc-1" file-path=/raid10/',
      "      csi/pvc-1.img",
      "",
    ].join("\r\n");
    expect(plain(parsePrintDetail(output))).toEqual([
      {
        index: 0,
        flags: "Bt",
        fields: {
          type: "file",
          slot: "pvc-1",
          "nvme-tcp-server-port": "4420",
          "nvme-tcp-server-nqn": "nqn.2000-02.com.mikrotik:pvc-1",
          "file-path": "/raid10/csi/pvc-1.img",
        },
      },
    ]);
  });

  it("reads print terse: one unquoted record per line, the comment as a leading pair", () => {
    const output =
      " 1 Bt comment=rds-csi:v1 kind:volume type=file slot=pvc-1 model=Samsung SSD 990 PRO size=1 073 741 824 " +
      "nvme-tcp-server-allow-host-name= file-path=/raid10/csi/pvc-1.img file-size=1024.0MiB\r\n" +
      " 2 B  type=file slot=vm-2 file-path=/raid10/vm-2.img\r\n";
    expect(plain(parsePrintDetail(output))).toEqual([
      {
        index: 1,
        flags: "Bt",
        fields: {
          comment: "rds-csi:v1 kind:volume",
          type: "file",
          slot: "pvc-1",
          model: "Samsung SSD 990 PRO",
          size: "1073741824",
          "nvme-tcp-server-allow-host-name": "",
          "file-path": "/raid10/csi/pvc-1.img",
          "file-size": "1024.0MiB",
        },
      },
      { index: 2, flags: "B", fields: { type: "file", slot: "vm-2", "file-path": "/raid10/vm-2.img" } },
    ]);
  });
});

describe("parsePrintDetail with every wrap the simulator offers", () => {
  const unwrappedWidth = 100_000;

  it.each(SAMPLE_RECORDS.map((sample) => [sample.name, sample] as const))(
    "%s: unwrapped, it reads as the expected fields",
    (_, sample) => {
      const record = onlyRecord(formatPrintDetail([sample.record], DISK_FLAGS, unwrappedWidth, "pairs"));
      expect(Object.fromEntries(record.fields)).toEqual(sample.fields);
      expect(record.comment).toBe(sample.record.comment === "" ? undefined : sample.record.comment);
      expect(record.flags).toBe(sample.record.flags);
      expect(record.index).toBe(sample.record.index);
    },
  );

  it.each(DETAIL_WRAP_MODES.flatMap((mode) => SAMPLE_RECORDS.map((sample) => [mode, sample.name, sample] as const)))(
    "%s, %s: wrapped at every width from 40 to 200, it reads the same",
    (mode, _, sample) => {
      const refused: string[] = [];
      for (let width = 40; width <= 200; width++) {
        const { records, unreadable } = readPrintOutput(formatPrintDetail([sample.record], DISK_FLAGS, width, mode));
        if (unreadable.length > 0) refused.push(unreadable[0]!.reason);
        else expect([width, Object.fromEntries(records[0]!.fields)]).toEqual([width, sample.fields]);
      }
      // A comment that exactly fills its last line may go on over the next one: read either way, it is refused.
      expect(refused).toEqual(refused.map(() => expect.stringMatching(/can be read two ways \(the comment\)/)));
      expect(refused.length).toBeLessThanOrEqual(2);
    },
  );

  it.each(DETAIL_WRAP_MODES)("%s: reads several records at every width", (mode) => {
    const records = SAMPLE_RECORDS.map((sample, position) => ({ ...sample.record, index: position }));
    for (let width = 40; width <= 200; width += 7) {
      const parsed = parsePrintDetail(formatPrintDetail(records, DISK_FLAGS, width, mode));
      expect(parsed.map((record) => Object.fromEntries(record.fields))).toEqual(SAMPLE_RECORDS.map((sample) => sample.fields));
      expect(parsed.map((record) => record.index)).toEqual([0, 1, 2, 3]);
    }
  });
});

describe("parsePrintDetail on a long list", () => {
  it("reads 1,000 wrapped records with right-aligned indexes", () => {
    const template = SAMPLE_RECORDS[0]!;
    const records: NumberedRecord[] = Array.from({ length: 1000 }, (_, index) => ({
      ...template.record,
      index,
      fields: template.record.fields.map((field) => (field.name === "slot" ? { ...field, value: `pvc-${String(index).padStart(4, "0")}`, text: `"pvc-${String(index).padStart(4, "0")}"` } : field)),
    }));
    const output = formatPrintDetail(records, DISK_FLAGS, 80, "pairs");
    expect(output).toContain("\n  7 Bt ;;; ");
    expect(output).toContain("\n999 Bt ;;; ");

    const parsed = parsePrintDetail(output);
    expect(parsed).toHaveLength(1000);
    parsed.forEach((record, index) => {
      expect(record.index).toBe(index);
      expect(record.fields.get("slot")).toBe(`pvc-${String(index).padStart(4, "0")}`);
      expect(record.fields.get("size")).toBe("10737418240");
      expect(record.fields.get("nvme-tcp-server-nqn")).toBe(template.fields["nvme-tcp-server-nqn"]);
    });
  });
});
