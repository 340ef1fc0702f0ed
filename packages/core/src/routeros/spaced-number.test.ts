import fc from "fast-check";
import { isWholeNumber, joinBrokenValue, withoutThousandsSeparators } from "./spaced-number.js";

describe("isWholeNumber", () => {
  it.each(["0", "4420", "10737418240", "1 024", "10 737 418 240", "999 999"])("accepts %j", (text) => {
    expect(isWholeNumber(text)).toBe(true);
  });

  it.each(["", " 1", "1 ", "1  024", "1 02", "1024 000", "10.0GiB", "1,024", "-1", "1e3", "١٢"])("refuses %j", (text) => {
    expect(isWholeNumber(text)).toBe(false);
  });
});

describe("withoutThousandsSeparators", () => {
  it.each([
    ["10 737 418 240", "10737418240"],
    ["1 024", "1024"],
    ["4420", "4420"],
    ["12 34", "12 34"],
    ["2026-11-26 10:00:00", "2026-11-26 10:00:00"],
    ["7.16.1 (stable)", "7.16.1 (stable)"],
  ])("%j → %j", (value, normalized) => {
    expect(withoutThousandsSeparators(value)).toBe(normalized);
  });
});

describe("joinBrokenValue", () => {
  it.each([
    ["a break inside a path", "/raid10/vols/pvc-", "1.img", "/raid10/vols/pvc-1.img"],
    ["a break inside a digit group", "10 73", "7 418 240", "10 737 418 240"],
    ["a break at a separator, space kept on the left", "10 737 ", "418 240", "10 737 418 240"],
    ["a break at a separator, space kept on the right", "10 737", " 418 240", "10 737 418 240"],
    ["a break at a separator, space swallowed", "10 737", "418 240", "10 737 418 240"],
    ["a break after the first group, space swallowed", "10", "737 418 240", "10 737 418 240"],
    ["a break before the last group, space swallowed", "1 562 806", "656", "1 562 806 656"],
    ["a break in a plain number", "44", "20", "4420"],
    ["a one-digit head and a full group", "1", "234", "1234"],
    ["a short piece that is the start of a group", "1 234", "5", "1 234 5"],
    ["a number and a unit", "25", "6K", "256K"],
    ["a number and a percent sign", "8", "%", "8%"],
    ["digits after text", "pvc-", "123 456", "pvc-123 456"],
  ])("%s", (_, head, tail, joined) => {
    expect(joinBrokenValue(head, tail)).toBe(joined);
  });

  it("reads a grouped number the same wherever it is broken, space kept or swallowed", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n }), fc.nat(), (number, at) => {
        const grouped = number.toString().replace(/\B(?=(\d{3})+$)/g, " ");
        const cut = 1 + (at % Math.max(1, grouped.length - 1));
        const head = grouped.slice(0, cut);
        const tail = grouped.slice(cut);
        if (tail === "") return;
        const readings = [joinBrokenValue(head, tail)];
        if (tail.startsWith(" ")) readings.push(joinBrokenValue(head, tail.slice(1)));
        for (const reading of readings) expect(withoutThousandsSeparators(reading.trim())).toBe(number.toString());
      }),
      { numRuns: 2000 },
    );
  });
});
