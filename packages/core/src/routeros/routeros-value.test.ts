import { InvalidArgumentError } from "../errors.js";
import {
  validateComment,
  validateFilePath,
  validateHostNqns,
  validateNqn,
  validatePool,
  validatePort,
  validateSize,
  validateSlot,
} from "./routeros-value.js";

function refusal(validate: () => unknown): string {
  try {
    validate();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error("expected the value to be refused");
}

const NQN = "nqn.2000-02.com.mikrotik:pvc-5b0c1d2e-7f3a-4c5b-9d6e-0123456789ab";
const HOST = "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-0000-0000-000000000001";

describe("validateSlot", () => {
  it.each(["a", "7", "pvc-5b0c1d2e-7f3a-4c5b-9d6e-0123456789ab", "snap-1", "A-b-C", `a${"-".repeat(126)}b`])("accepts %s", (slot) => {
    expect(validateSlot(slot)).toBe(slot);
  });

  it.each(["", "-a", "a-", "a_b", "a.b", "a b", 'a"b', "a\nb", "pvc-é", `a${"b".repeat(128)}`])("refuses %j", (slot) => {
    expect(refusal(() => validateSlot(slot))).toMatch(/^invalid slot ".*": must be 1-128 letters, digits and inner dashes$/s);
  });
});

describe("validateFilePath", () => {
  it.each(["/raid10", "/raid10/vols/pvc-1.img", "/a/b_c/d-e/.hidden/x..y", `/${"a".repeat(254)}`])("accepts %s", (path) => {
    expect(validateFilePath(path)).toBe(path);
  });

  it.each<[string, RegExp]>([
    ["raid10/x.img", /must be absolute/],
    ["", /must be absolute/],
    ["/", /segments must be/],
    ["/raid10//x.img", /segments must be/],
    ["/raid10/vols/", /segments must be/],
    ["/raid10/./x.img", /segments must be/],
    ["/raid10/../x.img", /segments must be/],
    ["/raid10/a b.img", /segments must be/],
    ["/raid10/a=b.img", /segments must be/],
    ['/raid10/"x".img', /segments must be/],
    ["/raid10/$x", /segments must be/],
    ["/raid10/é.img", /segments must be/],
    [`/${"a".repeat(255)}`, /must be at most 255 bytes/],
  ])("refuses %j", (path, rule) => {
    const message = refusal(() => validateFilePath(path));
    expect(message).toMatch(/^invalid file path "/);
    expect(message).toMatch(rule);
  });
});

describe("validatePool", () => {
  it.each(["raid10", "storage-pool", "nvme1.p2"])("accepts %s", (pool) => {
    expect(validatePool(pool)).toBe(pool);
  });

  it.each(["", "/raid10", "raid10/vols", ".", "..", "a b", "x".repeat(256)])("refuses %j", (pool) => {
    expect(refusal(() => validatePool(pool))).toMatch(/^invalid pool ".*": must be one path segment/);
  });
});

describe("validateNqn", () => {
  it.each([NQN, HOST, "nqn.2026-09.com.mikrotik:rds2216.vm-storage-001"])("accepts %s", (nqn) => {
    expect(validateNqn(nqn)).toBe(nqn);
  });

  it.each<[string, RegExp]>([
    ["", /must look like/],
    ["nqn.2000-02.com.mikrotik", /must look like/],
    ["nqn.200-02.com.mikrotik:x", /must look like/],
    ["nqn.2000-02.COM.mikrotik:x", /must look like/],
    ["nqn.2000-02.com.mikrotik:x y", /must look like/],
    ['nqn.2000-02.com.mikrotik:x"', /must look like/],
    ["nqn.2000-02.com.mikrotik:x,nqn.2000-02.com.mikrotik:y", /must look like/],
    ["nqn.٢٠٢٦-09.com.mikrotik:x", /must look like/],
    [`nqn.2000-02.com.mikrotik:${"x".repeat(200)}`, /must be at most 223 bytes/],
  ])("refuses %j", (nqn, rule) => {
    const message = refusal(() => validateNqn(nqn));
    expect(message).toMatch(/^invalid NQN "/);
    expect(message).toMatch(rule);
  });
});

describe("validateSize", () => {
  it.each([1n, 4096n, 10737418240n, 2n ** 63n - 1n])("accepts %s", (size) => {
    expect(validateSize(size)).toBe(size);
  });

  it.each([0n, -1n, 2n ** 63n, 2n ** 100n])("refuses %s", (size) => {
    expect(refusal(() => validateSize(size))).toBe(`invalid size ${size}: must be between 1 and 9223372036854775807 bytes`);
  });
});

describe("validatePort", () => {
  it.each([1, 4420, 65535])("accepts %s", (port) => {
    expect(validatePort(port)).toBe(port);
  });

  it.each([0, -1, 65536, 4420.5, Number.NaN, Number.POSITIVE_INFINITY])("refuses %s", (port) => {
    expect(refusal(() => validatePort(port))).toBe(`invalid port ${port}: must be an integer between 1 and 65535`);
  });
});

describe("validateHostNqns", () => {
  it("joins host NQNs with commas, and an empty list is any host", () => {
    expect(validateHostNqns([HOST, NQN])).toBe(`${HOST},${NQN}`);
    expect(validateHostNqns([])).toBe("");
  });

  it("names the host NQN it refuses", () => {
    expect(refusal(() => validateHostNqns([HOST, "any"]))).toMatch(/^invalid host NQN "any": must look like/);
  });
});

describe("validateComment", () => {
  it.each(["", "rds-csi:v1 kind=volume", 'quotes " backslash \\ dollar $ question ? brackets [] ;', "~".repeat(255)])("accepts %j", (comment) => {
    expect(validateComment(comment)).toBe(comment);
  });

  it.each<[string, RegExp]>([
    ["a\nb", /must be printable ASCII/],
    ["tab\there", /must be printable ASCII/],
    ["café", /must be printable ASCII/],
    ["\x7f", /must be printable ASCII/],
    ["x".repeat(256), /must be at most 255 bytes/],
  ])("refuses %j", (comment, rule) => {
    const message = refusal(() => validateComment(comment));
    expect(message).toMatch(/^invalid comment "/);
    expect(message).toMatch(rule);
  });
});

describe("refusal messages", () => {
  it("show control characters escaped and cut a long value short", () => {
    expect(refusal(() => validateSlot("a\nb\x1b[2J"))).toBe('invalid slot "a\\nb\\u{1B}[2J": must be 1-128 letters, digits and inner dashes');
    const message = refusal(() => validateSlot(`${"x".repeat(10_000)}\n`));
    expect(message).toBe(`invalid slot "${"x".repeat(80)}… (9921 more characters)": must be 1-128 letters, digits and inner dashes`);
  });
});
