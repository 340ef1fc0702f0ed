import { isBareSafe, quoteRouterOsString } from "./quote-value.js";

describe("quoteRouterOsString", () => {
  it("quotes and escapes the characters the console treats specially", () => {
    expect(quoteRouterOsString("")).toBe('""');
    expect(quoteRouterOsString('a "b" \\ $x ?')).toBe(String.raw`"a \"b\" \\ \$x ?"`);
  });

  it("writes control characters and non-ASCII as \\HH bytes", () => {
    expect(quoteRouterOsString("a\nb\u007fé")).toBe(String.raw`"a\0Ab\7F\C3\A9"`);
  });
});

describe("isBareSafe", () => {
  it("allows paths and refuses what would be ambiguous bare", () => {
    expect(isBareSafe("/raid10/vols/pvc-1.img")).toBe(true);
    expect(isBareSafe("a b")).toBe(false);
    expect(isBareSafe('a"b')).toBe(false);
    expect(isBareSafe("a=b")).toBe(false);
    expect(isBareSafe("")).toBe(false);
  });
});
