import { formatBinarySize, formatSpacedInteger } from "./format-size.js";

describe("formatSpacedInteger", () => {
  it.each([
    [0, "0"],
    [512, "512"],
    [4420, "4 420"],
    [10737418240, "10 737 418 240"],
    [16003143565312, "16 003 143 565 312"],
  ])("prints %d as %j", (value, text) => {
    expect(formatSpacedInteger(value)).toBe(text);
  });
});

describe("formatBinarySize", () => {
  it.each([
    [1000, "1000B"],
    [1024, "1024B"],
    [1536, "1.5KiB"],
    [1024 ** 3, "1024.0MiB"],
    [1024 ** 3 + 1024 ** 2 * 103, "1.1GiB"],
    [10 * 1024 ** 3, "10.0GiB"],
    [50 * 1024 ** 3, "50.0GiB"],
    [1024 ** 4, "1024.0GiB"],
    [5.5 * 1024 ** 4, "5.5TiB"],
  ])("prints %d as %j", (bytes, text) => {
    expect(formatBinarySize(bytes)).toBe(text);
  });
});
