import { tokenize } from "./cli-tokenizer.js";
import { TokenCursor } from "./token-cursor.js";
import { matchesAll, parseConditions } from "./where-clause.js";

function conditions(text: string) {
  const { tokens, endColumn } = tokenize(text);
  return parseConditions(new TokenCursor(tokens, endColumn), new Set(["slot", "name"]));
}

describe("where clauses", () => {
  const record: Record<string, string> = { slot: "pvc-1", name: "raid10/vols/pvc-1.img" };
  const valueOf = (property: string): string | undefined => record[property];

  it("compares = exactly", () => {
    expect(matchesAll(conditions('slot="pvc-1"'), valueOf)).toBe(true);
    expect(matchesAll(conditions('slot="pvc"'), valueOf)).toBe(false);
  });

  it("matches ~ as a regular expression anywhere in the value", () => {
    expect(matchesAll(conditions('slot~"vc"'), valueOf)).toBe(true);
    expect(matchesAll(conditions(String.raw`name~"^raid10/vols/[^/]+\\.img\$"`), valueOf)).toBe(true);
    expect(matchesAll(conditions('name~"^vols/"'), valueOf)).toBe(false);
  });

  it("needs every condition to hold", () => {
    expect(matchesAll(conditions('slot~"pvc" and name~"img\\$"'), valueOf)).toBe(true);
    expect(matchesAll(conditions('slot~"pvc" and name~"iso\\$"'), valueOf)).toBe(false);
  });

  it("fails a condition on a property the record does not have", () => {
    expect(matchesAll(conditions('slot~""'), () => undefined)).toBe(false);
  });
});
