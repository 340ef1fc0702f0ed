import { checkOptions, InvalidOptionError, type SimulatorOptions } from "./simulator-options.js";

const base: SimulatorOptions = { stateDir: "/tmp/x", password: "p" };

describe("checkOptions", () => {
  it("fills in the defaults", () => {
    expect(checkOptions(base)).toEqual({ user: "admin", port: 0, controlPort: 0 });
  });

  it("reads the pool size as bytes or with a suffix", () => {
    expect(checkOptions({ ...base, poolSize: "2T" }).poolSize).toBe(2 * 1024 ** 4);
    expect(checkOptions({ ...base, poolSize: 4096 }).poolSize).toBe(4096);
  });

  it.each([
    [{ password: undefined }, "password or authorizedKeys: at least one is needed"],
    [{ user: "admin+ct" }, 'user "admin+ct": must be non-empty'],
    [{ user: "" }, 'user "": must be non-empty'],
    [{ poolName: "../x" }, 'poolName "../x"'],
    [{ poolSize: "lots" }, 'poolSize "lots": bytes or a size such as 1T'],
    [{ poolSize: 0 }, "poolSize 0"],
    [{ poolSize: "16384T" }, 'poolSize "16384T"'],
    [{ port: 70000 }, "port 70000: must be 0 … 65535"],
    [{ controlPort: -1 }, "controlPort -1: must be 0 … 65535"],
  ])("refuses %j, naming the option", (change, message) => {
    expect(() => checkOptions({ ...base, ...change })).toThrow(InvalidOptionError);
    expect(() => checkOptions({ ...base, ...change })).toThrow(message);
  });
});
