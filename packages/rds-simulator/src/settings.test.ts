import { applySettingsPatch, DEFAULT_SETTINGS, InvalidSettingError, type SettingsPatch } from "./settings.js";

describe("applySettingsPatch", () => {
  it("changes only what the patch names", () => {
    expect(applySettingsPatch(DEFAULT_SETTINGS, { copyFrom: "data", latency: { mutateMs: 20 } })).toEqual({
      copyFrom: "data",
      diskBusy: "never",
      foreignDisks: "rds2216",
      allowHost: "ignored",
      detailWrap: "pairs",
      errorExitStatus: 0,
      latency: { readMs: 0, mutateMs: 20 },
    });
    expect(applySettingsPatch(DEFAULT_SETTINGS, { allowHost: "enforce-and-drop", errorExitStatus: 1 })).toMatchObject({
      allowHost: "enforce-and-drop",
      errorExitStatus: 1,
    });
  });

  it.each([
    [{ copyFrom: "all" }, 'copyFrom must be one of settings-only, data, data-in-background, data-ignoring-size; got "all"'],
    [{ diskBusy: "always" }, "diskBusy must be one of never, while-connected"],
    [{ foreignDisks: "many" }, "foreignDisks must be one of rds2216, none"],
    [{ allowHost: "strict" }, "allowHost must be one of ignored, enforce-new, enforce-and-drop"],
    [{ detailWrap: "fold" }, "detailWrap must be one of pairs, cut, words"],
    [{ errorExitStatus: 2 }, "errorExitStatus must be one of 0, 1; got 2"],
    [{ latency: 5 }, "latency must be an object with readMs and/or mutateMs"],
    [{ latency: { readMs: 1.5 } }, "latency.readMs must be a whole number of milliseconds >= 0; got 1.5"],
    [{ latency: { mutateMs: -1 } }, "latency.mutateMs must be a whole number of milliseconds >= 0"],
  ])("refuses %j", (patch, message) => {
    expect(() => applySettingsPatch(DEFAULT_SETTINGS, patch as unknown as SettingsPatch)).toThrow(InvalidSettingError);
    expect(() => applySettingsPatch(DEFAULT_SETTINGS, patch as unknown as SettingsPatch)).toThrow(message);
  });
});
