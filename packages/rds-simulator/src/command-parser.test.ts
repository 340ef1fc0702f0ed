import { parseCommand } from "./command-parser.js";

describe("parseCommand", () => {
  it("reads /disk print detail with a where clause of = and ~ joined by and", () => {
    const command = parseCommand('/disk print detail where slot="a" and file-path~"^/raid10/"');
    expect(command).toMatchObject({ menu: "disk", action: "print", format: "detail" });
    expect(command?.action === "print" && command.where.map((c) => [c.property, c.operator, c.value])).toEqual([
      ["slot", "=", "a"],
      ["file-path", "~", "^/raid10/"],
    ]);
  });

  it("accepts the path written with slashes, without the leading slash, and without-paging", () => {
    expect(parseCommand("/disk/print detail")).toMatchObject({ menu: "disk", action: "print", format: "detail" });
    expect(parseCommand("file print without-paging detail")).toMatchObject({ menu: "file", action: "print", format: "detail" });
    expect(parseCommand("/ disk print")).toMatchObject({ menu: "disk", action: "print", format: "plain", where: [] });
  });

  it("reads the print formats: terse, and as-value, which wins over the others", () => {
    expect(parseCommand('/disk print terse where slot="a"')).toMatchObject({ action: "print", format: "terse" });
    expect(parseCommand("/file print detail terse")).toMatchObject({ action: "print", format: "terse" });
    expect(parseCommand("/disk print terse as-value")).toMatchObject({ action: "print", format: "as-value" });
  });

  it("treats conditions written side by side as joined by and", () => {
    const command = parseCommand('/disk print detail where type="file" slot~"pvc"');
    expect(command?.action === "print" && command.where).toHaveLength(2);
  });

  it("reads /disk add arguments, quoted or bare, and copy-from as a find expression", () => {
    const command = parseCommand('/disk add type=file slot="s1" copy-from=[find where slot="s0"] file-size=1G comment=""');
    expect(command?.action).toBe("add");
    const args = command?.action === "add" ? command.args : new Map();
    expect(args.get("type")).toEqual({ kind: "text", text: "file" });
    expect(args.get("comment")).toEqual({ kind: "text", text: "" });
    expect(args.get("copy-from")).toMatchObject({ kind: "find", conditions: [{ property: "slot", value: "s0" }] });
  });

  it("reads set and remove targets as [find ...] or an item name", () => {
    expect(parseCommand('/disk set [find slot="a"] file-size=2G')).toMatchObject({
      action: "set",
      target: { kind: "find", conditions: [{ property: "slot", value: "a" }] },
    });
    expect(parseCommand("/disk remove vm1")).toMatchObject({ action: "remove", target: { kind: "name", name: "vm1" } });
    expect(parseCommand('/file remove "raid10/a b.img"')).toMatchObject({ menu: "file", target: { kind: "name", name: "raid10/a b.img" } });
    expect(parseCommand("/disk remove [find]")).toMatchObject({ target: { kind: "find", conditions: [] } });
  });

  it("returns undefined for a blank line", () => {
    expect(parseCommand("   ")).toBeUndefined();
  });

  it.each([
    ["/disks print", "bad command name disks (line 1 column 2)"],
    ["/disk foo", "bad command name foo (line 1 column 7)"],
    ["/disk/add/x", "bad command name x (line 1 column 11)"],
    ["/file add", "bad command name add (line 1 column 7)"],
    [":put 1", "bad command name :put (line 1 column 1)"],
    ["/system reboot", "bad command name system (line 1 column 2)"],
    ['/disk remove [/disk find slot="a"]', "bad command name /disk (line 1 column 15)"],
    ["/disk", "expected command name (line 1 column 6)"],
    ["/disk file-size=1", "expected command name (line 1 column 7)"],
    ['"disk" print', "expected command name (line 1 column 1)"],
    ["/disk print detail foo", "expected end of command (line 1 column 20)"],
    ["/disk print detail detail", "expected end of command (line 1 column 20)"],
    ["/disk print detail; /system reboot", "expected end of command (line 1 column 19)"],
    ["/disk print detail\n/system reboot", "expected end of command (line 1 column 19)"],
    ['/disk print detail where slot="a" ]', "expected end of command (line 1 column 35)"],
    ["/disk add foo=bar", "expected end of command (line 1 column 11)"],
    ["/disk add slot=a slot=b", "expected end of command (line 1 column 18)"],
    ["/disk add slot=a ; /system reboot", "expected end of command (line 1 column 18)"],
    ["/disk set [find] type=file", "expected end of command (line 1 column 18)"],
    ["/disk remove [find] file-size=1", "expected end of command (line 1 column 21)"],
    ["/disk add slot", "syntax error (line 1 column 15)"],
    ["/disk add slot=", "syntax error (line 1 column 16)"],
    ["/disk add slot==a", "syntax error (line 1 column 16)"],
    ['/disk remove [find slot="a"', "syntax error (line 1 column 28)"],
    ["/disk remove [ ]", "syntax error (line 1 column 16)"],
    ["/disk remove [find where]", "syntax error (line 1 column 25)"],
    ["/disk print detail where", "syntax error (line 1 column 25)"],
    ['/disk print detail where slto="a"', "syntax error (line 1 column 26)"],
    ['/disk print detail where slot "a"', "syntax error (line 1 column 31)"],
    ["/disk print detail where slot=", "syntax error (line 1 column 31)"],
    ['/disk print detail where slot="a" and', "syntax error (line 1 column 38)"],
    ['/disk print detail where slot~"("', "syntax error (line 1 column 31)"],
    ['/file print detail where slot="a"', "syntax error (line 1 column 26)"],
    ["/disk set file-size=1", "missing value(s) of argument(s) numbers"],
    ["/disk remove", "missing value(s) of argument(s) numbers"],
  ])("refuses %j with %j", (line, message) => {
    expect(() => parseCommand(line)).toThrow(message);
  });
});
