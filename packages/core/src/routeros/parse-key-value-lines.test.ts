import { InternalError } from "../errors.js";
import { listFixtures, readFixture } from "../../test/routeros/fixtures/fixture-files.js";
import { parseKeyValueLines } from "./parse-key-value-lines.js";

describe("parseKeyValueLines golden files", () => {
  const fixtures = listFixtures("key-value", ".txt");

  it("has the fixtures this suite is about", () => {
    expect(fixtures).toEqual(["disk-monitor-traffic.txt", "system-resource-wrapped.txt"]);
  });

  it.each(fixtures)("%s reads as its .json", (name) => {
    const expected = JSON.parse(readFixture(`key-value/${name.replace(/\.txt$/, ".json")}`)) as Record<string, string>;
    expect(Object.fromEntries(parseKeyValueLines(readFixture(`key-value/${name}`)))).toEqual(expected);
  });

  it.each(fixtures)("%s reads the same with CRLF line ends", (name) => {
    const text = readFixture(`key-value/${name}`);
    expect(parseKeyValueLines(text.replaceAll("\n", "\r\n"))).toEqual(parseKeyValueLines(text));
  });
});

describe("parseKeyValueLines", () => {
  it("reads right-aligned keys, grouped numbers without separators, and values with spaces", () => {
    const values = parseKeyValueLines(readFixture("key-value/disk-monitor-traffic.txt"));
    expect(values.get("write-bytes")).toBe("515659673600");
    expect(values.get("write-rate")).toBe("12.8Mbps");
    expect(parseKeyValueLines("  version: 7.16.1 (stable)\n").get("version")).toBe("7.16.1 (stable)");
  });

  it("joins wrapped values, keeping spaces beyond the value column and restoring a swallowed separator", () => {
    const values = parseKeyValueLines(
      ["     name: one two", "           three", "  comment: a", "            b", "     size: 10 737", "           418 240"].join("\n"),
    );
    expect(Object.fromEntries(values)).toEqual({ name: "one twothree", comment: "a b", size: "10737418240" });
  });

  it("reads an empty value and empty output", () => {
    expect(Object.fromEntries(parseKeyValueLines("  comment:\n     slot: raid10\n"))).toEqual({ comment: "", slot: "raid10" });
    expect(parseKeyValueLines("").size).toBe(0);
    expect(parseKeyValueLines("\n \n").size).toBe(0);
  });

  it.each([
    ["a key twice", "  slot: a\n  slot: b\n", /"slot" appears twice/],
    ["a line that is not key: value", "slot raid10\n", /unexpected line "slot raid10"/],
    ["a continuation before any key", "   raid10\n", /unexpected line " {3}raid10"/],
  ])("refuses %s", (_, output, message) => {
    expect(() => parseKeyValueLines(output)).toThrow(InternalError);
    expect(() => parseKeyValueLines(output)).toThrow(message);
  });
});
