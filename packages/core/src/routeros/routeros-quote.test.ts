import fc from "fast-check";
import { InvalidArgumentError } from "../errors.js";
import { tokenizeCommand } from "../../test/routeros/fixtures/command-tokenizer.js";
import { quoteRouterOs } from "./routeros-quote.js";

/** What RouterOS reads back from `x=<quoted>`. */
function readBack(quoted: string): string {
  const words = tokenizeCommand(`x=${quoted}`);
  expect(words).toHaveLength(1);
  const [word] = words;
  if (word?.kind !== "arg" || word.value.kind !== "string") throw new Error(`not one string argument: ${quoted}`);
  return word.value.text;
}

describe("quoteRouterOs", () => {
  it.each([
    ["", '""'],
    ["pvc-1", '"pvc-1"'],
    ['say "hi"', String.raw`"say \"hi\""`],
    ["C:\\dir", String.raw`"C:\\dir"`],
    ["$HOME costs $5", String.raw`"\$HOME costs \$5"`],
    ["what?", String.raw`"what\?"`],
    ["[find] ; {x} (y) #z ~w", '"[find] ; {x} (y) #z ~w"'],
    ["line\nbreak\r\ttab\0nul\x7fdel", String.raw`"line\0Abreak\0D\09tab\00nul\7Fdel"`],
    ["café €", String.raw`"caf\C3\A9 \E2\82\AC"`],
    ["😀", String.raw`"\F0\9F\98\80"`],
  ])("writes %j as %s", (value, quoted) => {
    expect(quoteRouterOs(value)).toBe(quoted);
    expect(readBack(quoted)).toBe(value);
  });

  it("refuses a lone surrogate, which has no UTF-8 form to write", () => {
    expect(() => quoteRouterOs("a\uD800b")).toThrow(InvalidArgumentError);
    expect(() => quoteRouterOs("a\uDC00")).toThrow(/cannot quote "a\\u\{DC00\}": it is not well-formed Unicode/);
  });

  it.each([
    ["any well-formed string", fc.string({ unit: "binary", maxLength: 500 }), 1000],
    ["any string of Latin-1 characters", fc.string({ unit: "binary-ascii", maxLength: 500 }), 1000],
    ["any string of RouterOS syntax", fc.string({ unit: fc.constantFrom('"', "\\", "$", "?", "[", "]", ";", " ", "\n", "é", "a"), maxLength: 500 }), 1000],
    ["any 10 KB string", fc.string({ unit: "binary", minLength: 10_000, maxLength: 10_240 }), 20],
  ])("round-trips %s as one printable ASCII line", (_, text, numRuns) => {
    fc.assert(
      fc.property(text, (value) => {
        const quoted = quoteRouterOs(value);
        expect(quoted).toMatch(/^"[\x20-\x7e]*"$/);
        expect(readBack(quoted)).toBe(value);
      }),
      { numRuns },
    );
  });

  it("for any UTF-16 string, refuses it or round-trips it", () => {
    const units = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 100 });
    fc.assert(
      fc.property(units, (value) => {
        let quoted: string;
        try {
          quoted = quoteRouterOs(value);
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidArgumentError);
          return;
        }
        expect(readBack(quoted)).toBe(value);
      }),
      { numRuns: 1000 },
    );
  });
});
