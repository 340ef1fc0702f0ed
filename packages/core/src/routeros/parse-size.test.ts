import { InternalError } from "../errors.js";
import { parseExactBytes } from "./parse-size.js";

describe("parseExactBytes", () => {
  it.each([
    ["10 737 418 240", 10737418240n],
    ["10737418240", 10737418240n],
    ["1 099 511 627 776", 1099511627776n],
    ["16 003 143 565 312", 16003143565312n],
    ["0", 0n],
    ["512", 512n],
    ["18 446 744 073 709 551 616", 2n ** 64n],
  ])("reads %j as %s", (text, bytes) => {
    expect(parseExactBytes(text, "size")).toBe(bytes);
  });

  it.each(["10.0GiB", "1024.0MiB", "5.5TiB", "1T", "1G", "", " 1", "1  024", "1 02", "1,024", "-1", "8%", "none"])(
    "refuses the rounded or unreadable %j, naming the field",
    (text) => {
      expect(() => parseExactBytes(text, 'RouterOS record 3 field "size"')).toThrow(InternalError);
      expect(() => parseExactBytes(text, 'RouterOS record 3 field "size"')).toThrow(
        `RouterOS record 3 field "size" is not an exact byte count: "${text}"`,
      );
    },
  );
});
