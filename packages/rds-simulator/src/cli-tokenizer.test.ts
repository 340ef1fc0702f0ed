import { tokenize } from "./cli-tokenizer.js";

const kinds = (line: string): string[] => tokenize(line).tokens.map((token) => `${token.kind}:${token.text}@${token.column}`);

describe("tokenize", () => {
  it("splits a command into words, operators, strings and brackets with 1-based columns", () => {
    expect(kinds('/disk set [find slot="a b"] file-size=10G')).toEqual([
      "word:/disk@1",
      "word:set@7",
      "[:[@11",
      "word:find@12",
      "word:slot@17",
      "=:=@21",
      'string:a b@22',
      "]:]@27",
      "word:file-size@29",
      "=:=@38",
      "word:10G@39",
    ]);
  });

  it("keeps paths, NQNs and comma lists as one bare word", () => {
    expect(kinds("x=/raid10/v.img y=nqn.2000-02.com.mikrotik:pvc-1 z=a,b")).toEqual([
      "word:x@1",
      "=:=@2",
      "word:/raid10/v.img@3",
      "word:y@17",
      "=:=@18",
      "word:nqn.2000-02.com.mikrotik:pvc-1@19",
      "word:z@50",
      "=:=@51",
      "word:a,b@52",
    ]);
  });

  it("decodes every escape RouterOS defines for quoted strings", () => {
    const [token] = tokenize(String.raw`"\\ \" \$ \? \n \r \t \_\a\b\f\v \41\7E"`).tokens;
    expect(token?.text).toBe('\\ " $ ? \n \r \t \x20\x07\b\f\v A~');
  });

  it("reads \\HH escapes as UTF-8 bytes and keeps raw non-ASCII text", () => {
    expect(tokenize(String.raw`"caf\C3\A9 ü"`).tokens[0]?.text).toBe("café ü");
  });

  it("turns ; and a line break followed by more text into separators", () => {
    expect(kinds("a; b\nc")).toEqual(["word:a@1", "separator:;@2", "word:b@4", "separator:\n@5", "word:c@6"]);
  });

  it("ignores trailing blanks and line breaks and reports where the line ends", () => {
    expect(tokenize("/disk print  \r\n")).toEqual({
      tokens: [
        { kind: "word", text: "/disk", column: 1 },
        { kind: "word", text: "print", column: 7 },
      ],
      endColumn: 12,
    });
  });

  it.each([
    ['x="abc', "syntax error (line 1 column 7)"],
    [String.raw`x="a\qb"`, "syntax error (line 1 column 5)"],
    [String.raw`x="a\4"`, "syntax error (line 1 column 5)"],
    ["x=$var", "syntax error (line 1 column 3)"],
    // Inside quotes too: an unescaped $ is a variable, ? a help request, and hex escapes are upper case.
    ['x="pvc-$var"', "syntax error (line 1 column 8)"],
    ['x="a$"', "syntax error (line 1 column 5)"],
    ['x="what?"', "syntax error (line 1 column 8)"],
    [String.raw`x="caf\c39"`, "syntax error (line 1 column 7)"],
    [String.raw`x="\7e"`, "syntax error (line 1 column 4)"],
    ["x={a}", "syntax error (line 1 column 3)"],
    ["x=a\\b", "syntax error (line 1 column 4)"],
    ["x=\u0007", "syntax error (line 1 column 3)"],
  ])("refuses %j with %j", (line, message) => {
    expect(() => tokenize(line)).toThrow(message);
  });
});
