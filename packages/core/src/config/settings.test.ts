import { boolSetting, durationSetting, enumSetting, intSetting, listSetting, stringSetting } from "./settings.js";

const info = { flag: "x", env: "X", description: "test setting" };

describe("stringSetting", () => {
  it("keeps the value as given and refuses an empty one", () => {
    const setting = stringSetting(info);
    expect(setting.parse("unix:///csi/csi.sock")).toBe("unix:///csi/csi.sock");
    expect(() => setting.parse("")).toThrow("must not be empty");
  });
});

describe("intSetting", () => {
  const port = intSetting({ ...info, min: 1, max: 65535 });

  it("parses whole numbers inside the range, bounds included", () => {
    expect(port.parse("1")).toBe(1);
    expect(port.parse("65535")).toBe(65535);
    expect(intSetting({ ...info, min: -10, max: 10 }).parse("-10")).toBe(-10);
  });

  it.each(["", "4420abc", "1.5", "1e3", " 22", "0x10"])("rejects %j as not a whole number", (raw) => {
    expect(() => port.parse(raw)).toThrow("must be a whole number");
  });

  it.each(["0", "65536", "99999999999999999999"])("rejects %s as out of range", (raw) => {
    expect(() => port.parse(raw)).toThrow("must be between 1 and 65535");
  });
});

describe("durationSetting", () => {
  const timeout = durationSetting(info);

  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    ["1h2m3s4ms", 3_723_004],
    ["0s", 0],
  ])("parses %s as %d ms", (raw, ms) => {
    expect(timeout.parse(raw)).toBe(ms);
  });

  it.each(["30", "0", "-5s", "5 s", "5sec", "1.5s", "s", "", "1d", "m5"])("rejects %j", (raw) => {
    expect(() => timeout.parse(raw)).toThrow("must be a duration with units");
  });

  it("rejects a duration too long to count in milliseconds", () => {
    expect(() => timeout.parse("99999999999999999h")).toThrow("is too long");
  });

  it.each([
    [0, "0s"],
    [500, "500ms"],
    [90_000, "1m30s"],
    [3_723_004, "1h2m3s4ms"],
  ])("formats %d ms as %s, which parses back", (ms, text) => {
    expect(timeout.format?.(ms)).toBe(text);
    expect(timeout.parse(text)).toBe(ms);
  });
});

describe("boolSetting", () => {
  const flag = boolSetting(info);

  it.each([
    ["true", true],
    ["TRUE", true],
    ["1", true],
    ["yes", true],
    ["false", false],
    ["0", false],
    ["No", false],
  ])("parses %s as %s", (raw, value) => {
    expect(flag.parse(raw)).toBe(value);
  });

  it.each(["", "on", "2", "y"])("rejects %j", (raw) => {
    expect(() => flag.parse(raw)).toThrow("must be one of true, false, 1, 0, yes, no");
  });
});

describe("enumSetting", () => {
  it("accepts exactly the listed values, typed as their union", () => {
    const level = enumSetting({ ...info, values: ["error", "warn", "info", "debug"] });
    const parsed: "error" | "warn" | "info" | "debug" = level.parse("warn");
    expect(parsed).toBe("warn");
    expect(() => level.parse("INFO")).toThrow("must be one of error, warn, info, debug");
  });
});

describe("listSetting", () => {
  const list = listSetting(info);

  it("splits on commas, trims items and freezes the result", () => {
    const items = list.parse(" a, b ,c");
    expect(items).toEqual(["a", "b", "c"]);
    expect(Object.isFrozen(items)).toBe(true);
  });

  it("reads an empty value as an empty list", () => {
    expect(list.parse("")).toEqual([]);
    expect(list.parse("  ")).toEqual([]);
  });

  it.each(["a,,b", "a,", ",a"])("rejects %j for its empty item", (raw) => {
    expect(() => list.parse(raw)).toThrow("has an empty item");
  });
});
