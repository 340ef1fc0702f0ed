import { parseSizeArgument } from "./size-argument.js";

describe("parseSizeArgument", () => {
  it.each([
    ["10737418240", 10737418240n],
    ["1K", 1024n],
    ["1k", 1024n],
    ["10M", 10n * 1024n ** 2n],
    ["10G", 10n * 1024n ** 3n],
    ["1T", 1099511627776n],
    ["9223372036854775807", 9223372036854775807n],
  ])("reads %j as %d", (text, bytes) => {
    expect(parseSizeArgument(text)).toBe(bytes);
  });

  it.each(["", "1.5G", "1GiB", "1P", "-1", "G", "1 G"])("refuses %j", (text) => {
    expect(parseSizeArgument(text)).toBeUndefined();
  });
});
