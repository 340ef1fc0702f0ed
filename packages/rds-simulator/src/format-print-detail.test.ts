import { formatPrintDetail, type NumberedRecord } from "./format-print-detail.js";
import { bareField, bytesField, quotedField } from "./record-fields.js";

const FLAGS = [
  { letter: "B", name: "BLOCK-DEVICE" },
  { letter: "M", name: "MOUNTED" },
  { letter: "t", name: "NVME-TCP-EXPORT" },
];

const lines = (text: string): string[] => text.split("\r\n");

describe("formatPrintDetail", () => {
  it("prints nothing for no records", () => {
    expect(formatPrintDetail([], FLAGS, 80, "pairs")).toBe("");
  });

  it("ends every line with CRLF", () => {
    const text = formatPrintDetail([{ index: 0, flags: "B", comment: "", fields: [bareField("a", "1")] }], FLAGS, 80, "pairs");
    expect(text).toBe("Flags: B - BLOCK-DEVICE\r\n 0 B a=1\r\n");
  });

  it("puts a legend of the flags present, one flag column each, a separator line of one space, indices right-aligned", () => {
    const records: NumberedRecord[] = [
      { index: 9, flags: "BM", comment: "", fields: [bareField("type", "raid")] },
      { index: 10, flags: "Bt", comment: "", fields: [bareField("type", "file")] },
    ];
    expect(lines(formatPrintDetail(records, FLAGS, 80, "pairs"))).toEqual([
      "Flags: B - BLOCK-DEVICE; M - MOUNTED; t - NVME-TCP-EXPORT",
      " 9 BM  type=raid",
      " ",
      "10 B t type=file",
      "",
    ]);
  });

  it("has no legend and no flag column when no record has a flag", () => {
    expect(formatPrintDetail([{ index: 0, flags: "", comment: "", fields: [quotedField("name", "x")] }], FLAGS, 80, "pairs")).toBe(
      ' 0 name="x"\r\n',
    );
  });

  it("prints the comment on the index line, broken at the width like a long value, and the fields from the next line", () => {
    const record: NumberedRecord = {
      index: 0,
      flags: "Bt",
      comment: "rds-csi:v1 kind:volume owner:a-rather-long-owner-name-that-makes-this-comment-wider-than-80",
      fields: [bareField("type", "file")],
    };
    expect(lines(formatPrintDetail([record], FLAGS, 80, "pairs"))).toEqual([
      "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT",
      " 0 Bt ;;; rds-csi:v1 kind:volume owner:a-rather-long-owner-name-that-makes-this-",
      "      comment-wider-than-80",
      "      type=file",
      "",
    ]);
    expect(lines(formatPrintDetail([record], FLAGS, 40, "pairs"))).toEqual([
      "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT",
      " 0 Bt ;;; rds-csi:v1 kind:volume owner:a",
      "      -rather-long-owner-name-that-makes",
      "      -this-comment-wider-than-80",
      "      type=file",
      "",
    ]);
  });

  it("wraps between fields at width 80 and breaks a field longer than a line inside its value, with no space", () => {
    const nqn = "nqn.2000-02.com.mikrotik:pvc-5b0c1f2e-0000-4000-8000-123456789abc-and-more-and-more";
    const record: NumberedRecord = {
      index: 0,
      flags: "Bt",
      comment: "",
      fields: [
        bareField("type", "file"),
        quotedField("slot", "pvc-5b0c1f2e-0000-4000-8000-123456789abc"),
        bytesField("size", 10737418240),
        quotedField("nvme-tcp-server-nqn", nqn),
        bareField("file-offset", "0"),
      ],
    };
    const out = lines(formatPrintDetail([record], FLAGS, 80, "pairs"));
    expect(out).toEqual([
      "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT",
      ' 0 Bt type=file slot="pvc-5b0c1f2e-0000-4000-8000-123456789abc"',
      "      size=10 737 418 240",
      '      nvme-tcp-server-nqn="nqn.2000-02.com.mikrotik:pvc-5b0c1f2e-0000-4000-8000-',
      '      123456789abc-and-more-and-more" file-offset=0',
      "",
    ]);
    expect(out.every((line) => line.length <= 80)).toBe(true);
    expect(out[3]).toHaveLength(80);
  });

  it("honours another width", () => {
    const record: NumberedRecord = { index: 0, flags: "", comment: "", fields: [bareField("aa", "1"), bareField("bb", "2")] };
    expect(lines(formatPrintDetail([record], FLAGS, 10, "pairs"))).toEqual([" 0 aa=1", "   bb=2", ""]);
    expect(lines(formatPrintDetail([record], FLAGS, 12, "pairs"))).toEqual([" 0 aa=1 bb=2", ""]);
  });

  it("still makes progress when the width is smaller than the indent", () => {
    const record: NumberedRecord = { index: 0, flags: "", comment: "", fields: [bareField("a", "12")] };
    expect(lines(formatPrintDetail([record], FLAGS, 2, "pairs"))).toEqual([" 0 a", "   =", "   1", "   2", ""]);
  });

  describe("other ways RouterOS may break a record (detailWrap)", () => {
    const record: NumberedRecord = {
      index: 0,
      flags: "Bt",
      comment: "",
      fields: [bareField("type", "file"), bytesField("size", 10737418240), quotedField("nvme-tcp-server-nqn", "nqn.2000-02.com.mikrotik:pvc-1"), bareField("swap", "no")],
    };

    it("cut: fills every line to the width and cuts inside keys and values, adding and dropping nothing", () => {
      const out = lines(formatPrintDetail([record], FLAGS, 40, "cut"));
      expect(out).toEqual([
        "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT",
        " 0 Bt type=file size=10 737 418 240 nvme",
        '      -tcp-server-nqn="nqn.2000-02.com.m',
        '      ikrotik:pvc-1" swap=no',
        "",
      ]);
      expect(out.slice(1, -1).map((line) => line.slice(6)).join("")).toBe(
        'type=file size=10 737 418 240 nvme-tcp-server-nqn="nqn.2000-02.com.mikrotik:pvc-1" swap=no',
      );
    });

    it("words: breaks a field longer than a line at its last space outside quotes, dropping that space", () => {
      const pool: NumberedRecord = { index: 0, flags: "", comment: "", fields: [bytesField("size", 16003143565312), quotedField("model", "RAID0 striped disk")] };
      expect(lines(formatPrintDetail([pool], FLAGS, 15, "words"))).toEqual([" 0 size=16 003", "   143 565 312", '   model="RAID0', '    striped dis', '   k"', ""]);
    });
  });
});
