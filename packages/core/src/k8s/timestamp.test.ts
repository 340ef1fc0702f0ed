import { timestampMs } from "./timestamp.js";

describe("timestampMs", () => {
  it("reads an RFC 3339 timestamp and nothing else", () => {
    expect(timestampMs("2026-02-05T10:00:00Z")).toBe(Date.UTC(2026, 1, 5, 10));
    expect(timestampMs(undefined)).toBeUndefined();
    expect(timestampMs("yesterday")).toBeUndefined();
  });
});
