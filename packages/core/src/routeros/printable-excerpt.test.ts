import { printableExcerpt } from "./printable-excerpt.js";

describe("printableExcerpt", () => {
  it.each([
    ["plain text", "plain text"],
    ["tab\tnew\nline\rreturn", "tab\\tnew\\nline\\rreturn"],
    ["\x1b[31mred\x00\x7f", "\\u{1B}[31mred\\u{0}\\u{7F}"],
    ["zero\u200bwidth and \u2028separator", "zero\\u{200B}width and \\u{2028}separator"],
    ["lone \uD800 surrogate", "lone \\u{D800} surrogate"],
    ["café 😀 €", "café 😀 €"],
  ])("shows %j as %j", (text, shown) => {
    expect(printableExcerpt(text)).toBe(shown);
  });

  it("cuts long text by code points and says how much was left out", () => {
    expect(printableExcerpt("x".repeat(100))).toBe(`${"x".repeat(80)}… (20 more characters)`);
    expect(printableExcerpt("😀".repeat(12), 10)).toBe(`${"😀".repeat(10)}… (2 more characters)`);
    expect(printableExcerpt("y".repeat(10_240), 5)).toBe("yyyyy… (10235 more characters)");
    expect(printableExcerpt("x".repeat(80))).toBe("x".repeat(80));
  });
});
