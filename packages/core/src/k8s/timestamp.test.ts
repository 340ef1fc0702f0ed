import { timestampMs } from "./timestamp.js";

describe("timestampMs", () => {
  it("reads the Date of a typed list and the string of a watch event alike", () => {
    expect(timestampMs(new Date("2026-02-05T10:00:00Z"))).toBe(Date.UTC(2026, 1, 5, 10));
    expect(timestampMs("2026-02-05T10:00:00Z")).toBe(Date.UTC(2026, 1, 5, 10));
    expect(timestampMs(undefined)).toBeUndefined();
    expect(timestampMs(null)).toBeUndefined();
    expect(timestampMs("yesterday")).toBeUndefined();
  });
});
