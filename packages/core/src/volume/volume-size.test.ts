import {
  InvalidArgumentError,
  OutOfRangeError,
} from "../errors.js";
import {
  checkSizeLimits,
  DEFAULT_VOLUME_SIZE_LIMITS,
  formatByteQuantity,
  GiB,
  MiB,
  parseByteQuantity,
  sizeFitsRange,
  TiB,
  volumeSize,
} from "./volume-size.js";

const limits = DEFAULT_VOLUME_SIZE_LIMITS;
const range = (requiredBytes: bigint, limitBytes = 0n) => ({ requiredBytes, limitBytes });

describe("volumeSize", () => {
  it("gives the minimum when nothing or less is asked for", () => {
    expect(volumeSize(undefined, limits)).toBe(GiB);
    expect(volumeSize(range(0n), limits)).toBe(GiB);
    expect(volumeSize(range(1n), limits)).toBe(GiB);
    expect(volumeSize(range(0n, 2n * GiB), limits)).toBe(GiB);
  });

  it("rounds up to whole MiB, never down", () => {
    expect(volumeSize(range(GiB + 1n), limits)).toBe(GiB + MiB);
    expect(volumeSize(range(5n * GiB), limits)).toBe(5n * GiB);
    expect(volumeSize(range(GiB + 1n, GiB + MiB), limits)).toBe(GiB + MiB);
  });

  it("is OUT_OF_RANGE when the range cannot be met, with the numbers", () => {
    expect(() => volumeSize(range(2n * GiB, GiB), limits)).toThrow(new OutOfRangeError("capacity_range: required_bytes 2147483648 is above limit_bytes 1073741824"));
    expect(() => volumeSize(range(GiB + 1n, GiB + 2n), limits)).toThrow(OutOfRangeError);
    expect(() => volumeSize(range(0n, 512n * MiB), limits)).toThrow(/smallest size this driver can make is 1073741824 bytes.*above limit_bytes 536870912/);
    expect(() => volumeSize(range(17n * TiB), limits)).toThrow(/above the maximum volume size of 17592186044416 bytes/);
  });

  it("holds at least a copy's source, and refuses an explicit request below it", () => {
    const source = { id: "snap-1", bytes: 3n * GiB + 5n };
    expect(volumeSize(undefined, limits, { source })).toBe(3n * GiB + MiB);
    expect(volumeSize(range(4n * GiB), limits, { source })).toBe(4n * GiB);
    expect(() => volumeSize(range(2n * GiB), limits, { source })).toThrow(
      new OutOfRangeError("capacity_range.required_bytes 2147483648 is smaller than the source snap-1 (3221225477 bytes)"),
    );
    expect(() => volumeSize(range(0n, 2n * GiB), limits, { source })).toThrow(OutOfRangeError);
  });

  it("refuses negative fields as invalid, naming the field", () => {
    expect(() => volumeSize(range(-1n), limits, { field: "cr" })).toThrow(new InvalidArgumentError("cr.required_bytes must not be negative (got -1)"));
    expect(() => volumeSize(range(0n, -5n), limits)).toThrow("capacity_range.limit_bytes must not be negative (got -5)");
  });
});

describe("sizeFitsRange", () => {
  it("accepts an existing size within required..limit, 0 meaning unset", () => {
    expect(sizeFitsRange(GiB, undefined)).toBe(true);
    expect(sizeFitsRange(2n * GiB, range(GiB))).toBe(true);
    expect(sizeFitsRange(GiB, range(2n * GiB))).toBe(false);
    expect(sizeFitsRange(2n * GiB, range(GiB, GiB))).toBe(false);
    expect(sizeFitsRange(GiB, range(GiB, GiB))).toBe(true);
  });
});

describe("size limits and quantities", () => {
  it("checks configured limits", () => {
    expect(checkSizeLimits({ minBytes: MiB, maxBytes: MiB })).toEqual({ minBytes: MiB, maxBytes: MiB });
    expect(() => checkSizeLimits({ minBytes: 2n * GiB, maxBytes: GiB })).toThrow("minimum volume size 2147483648 bytes is above the maximum 1073741824 bytes");
    expect(() => checkSizeLimits({ minBytes: GiB + 1n, maxBytes: TiB })).toThrow("minimum volume size 1073741825 bytes must be a positive whole number of MiB");
    expect(() => checkSizeLimits({ minBytes: GiB, maxBytes: 0n })).toThrow("maximum volume size 0 bytes");
  });

  it("parses and formats binary quantities", () => {
    expect(parseByteQuantity("1073741824")).toBe(GiB);
    expect(parseByteQuantity("512Mi")).toBe(512n * MiB);
    expect(parseByteQuantity("16Ti")).toBe(16n * TiB);
    expect(parseByteQuantity("1Pi")).toBe(1024n * TiB);
    for (const bad of ["", "1G", "1.5Gi", "-1", "Gi"]) expect(() => parseByteQuantity(bad)).toThrow(InvalidArgumentError);
    expect(formatByteQuantity(GiB)).toBe("1Gi");
    expect(formatByteQuantity(16n * TiB)).toBe("16Ti");
    expect(formatByteQuantity(1536n * MiB)).toBe("1536Mi");
    expect(formatByteQuantity(1000n)).toBe("1000");
    expect(formatByteQuantity(0n)).toBe("0");
  });
});
