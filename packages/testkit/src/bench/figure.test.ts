import { median, summarizeFigure } from "./figure.js";

describe("median", () => {
  test.each([
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
  ])("of %j is %d", (values, expected) => expect(median(values)).toBe(expected));
});

describe("summarizeFigure", () => {
  test("one noisy round does not fail a target its median meets", () => {
    const summary = summarizeFigure({ id: "x", label: "x", unit: "ms", rounds: [100, 400, 110], target: { bound: 150, description: "< 150 ms", strict: true } });
    expect(summary).toMatchObject({ median: 110, min: 100, max: 400, target: { bound: 150, met: true } });
    expect(summary.target?.ratio).toBeCloseTo(110 / 150);
  });

  test("a per-round bound is compared round by round, then the ratios' median decides", () => {
    // Round 2 is slow on both sides: value and bound moved together, so it passes on its own ratio.
    const summary = summarizeFigure({ id: "x", label: "x", unit: "s", rounds: [10, 30, 13], target: { bound: [10, 29, 10], description: "<= 1.0 x bound" } });
    expect(summary.target?.ratio).toBeCloseTo(30 / 29);
    expect(summary.target?.met).toBe(false);
  });

  test("strict and non-strict targets differ exactly at the bound", () => {
    const at = (strict: boolean) => summarizeFigure({ id: "x", label: "x", unit: "MB", rounds: [120], target: { bound: 120, strict, description: "" } }).target?.met;
    expect(at(false)).toBe(true);
    expect(at(true)).toBe(false);
  });

  test("bounds must match the rounds", () => {
    expect(() => summarizeFigure({ id: "x", label: "x", unit: "ms", rounds: [1, 2], target: { bound: [1], description: "" } })).toThrow(/2 rounds but 1 bounds/);
  });
});
