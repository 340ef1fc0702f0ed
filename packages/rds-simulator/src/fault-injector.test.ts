import { FaultInjector, InvalidFaultError } from "./fault-injector.js";

describe("FaultInjector", () => {
  it("adds a delay per command kind", () => {
    const faults = new FaultInjector();
    faults.setDelay({ mutate: 200 });
    faults.setDelay({ read: 50 });
    expect([faults.extraDelay("read"), faults.extraDelay("mutate")]).toEqual([50, 200]);
  });

  it("drops the connection for the next N commands that match, before or after", () => {
    const faults = new FaultInjector();
    faults.dropConnection({ when: "after", count: 2, match: { contains: "/disk add" } });
    expect(faults.takeDrop("/disk add slot=a", "before")).toBe(false);
    expect(faults.takeDrop("/disk print detail", "after")).toBe(false);
    expect(faults.takeDrop("/disk add slot=a", "after")).toBe(true);
    expect(faults.state().dropConnection).toEqual([{ when: "after", count: 1, match: { contains: "/disk add" } }]);
    expect(faults.takeDrop("/disk add slot=b", "after")).toBe(true);
    expect(faults.takeDrop("/disk add slot=c", "after")).toBe(false);
  });

  it("answers the next N matching commands with an error text, matching by regex", () => {
    const faults = new FaultInjector();
    faults.errorReply({ text: "failure: disk is busy", count: 1, match: { regex: "^/disk (set|remove)" } });
    expect(faults.takeErrorReply("/disk add x")).toBeUndefined();
    expect(faults.takeErrorReply("/disk remove [find]")).toBe("failure: disk is busy");
    expect(faults.takeErrorReply("/disk remove [find]")).toBeUndefined();
  });

  it("matches every command when no match is given, and both conditions when both are", () => {
    const faults = new FaultInjector();
    faults.errorReply({ text: "x", count: 5 });
    expect(faults.takeErrorReply("anything")).toBe("x");
    faults.reset();
    faults.errorReply({ text: "y", count: 5, match: { contains: "slot", regex: "print" } });
    expect(faults.takeErrorReply("/disk add slot=a")).toBeUndefined();
    expect(faults.takeErrorReply("/disk print detail where slot=a")).toBe("y");
  });

  it("holds the disk-full and authentication-failure switches and resets everything", () => {
    const faults = new FaultInjector();
    faults.setDiskFull(true);
    faults.setAuthFailure(true);
    faults.setDelay({ read: 1, mutate: 2 });
    faults.dropConnection({ when: "before", count: 1 });
    expect(faults.state()).toEqual({
      delayMs: { read: 1, mutate: 2 },
      dropConnection: [{ when: "before", count: 1 }],
      errorReply: [],
      diskFull: true,
      authFailure: true,
    });
    faults.reset();
    expect(faults.state()).toEqual({ delayMs: { read: 0, mutate: 0 }, dropConnection: [], errorReply: [], diskFull: false, authFailure: false });
  });

  it.each([
    ["a negative delay", (f: FaultInjector) => f.setDelay({ read: -1 }), "read must be a whole number of milliseconds >= 0"],
    ["a bad timing", (f: FaultInjector) => f.dropConnection({ when: "during" as "before", count: 1 }), 'when must be "before" or "after"'],
    ["a zero count", (f: FaultInjector) => f.dropConnection({ when: "before", count: 0 }), "count must be a whole number >= 1"],
    ["an empty text", (f: FaultInjector) => f.errorReply({ text: "", count: 1 }), "text must be a non-empty string"],
    ["a match that is not an object", (f: FaultInjector) => f.errorReply({ text: "x", count: 1, match: "add" as never }), "match must be an object"],
    ["a non-string substring", (f: FaultInjector) => f.errorReply({ text: "x", count: 1, match: { contains: 1 as never } }), "match.contains must be a string"],
    ["a non-string regex", (f: FaultInjector) => f.errorReply({ text: "x", count: 1, match: { regex: 1 as never } }), "match.regex must be a string"],
    ["a broken regex", (f: FaultInjector) => f.errorReply({ text: "x", count: 1, match: { regex: "(" } }), "match.regex: Invalid regular expression"],
  ])("refuses %s", (_what, inject, message) => {
    const faults = new FaultInjector();
    expect(() => inject(faults)).toThrow(InvalidFaultError);
    expect(() => inject(faults)).toThrow(message);
  });
});
