import { CliUsageError, parseCliArguments } from "./cli-arguments.js";

describe("parseCliArguments", () => {
  it("reads every flag, as --flag value or --flag=value", () => {
    expect(
      parseCliArguments([
        "--state-dir", "/var/lib/rds-sim",
        "--port=2200",
        "--control-port", "8080",
        "--user", "csi",
        "--password", "secret",
        "--authorized-key", "/a.pub",
        "--authorized-key=/b.pub",
        "--pool", "pool1",
        "--pool-size", "2T",
        "--copy-from", "data",
        "--allow-host", "enforce-and-drop",
        "--latency-read", "5",
        "--latency-mutate", "2s",
        "--error-exit-status", "1",
        "--log-level", "debug",
      ]),
    ).toEqual({
      help: false,
      stateDir: "/var/lib/rds-sim",
      port: 2200,
      controlPort: 8080,
      user: "csi",
      password: "secret",
      authorizedKeyFiles: ["/a.pub", "/b.pub"],
      poolName: "pool1",
      poolSize: "2T",
      copyFrom: "data",
      allowHost: "enforce-and-drop",
      latencyReadMs: 5,
      latencyMutateMs: 2000,
      errorExitStatus: 1,
      logLevel: "debug",
    });
  });

  it("has defaults for ports and the log level and leaves the rest to the simulator", () => {
    expect(parseCliArguments(["--state-dir", "d", "--latency-mutate", "20ms", "--error-exit-status", "0"])).toEqual({
      help: false,
      stateDir: "d",
      port: 2222,
      controlPort: 0,
      authorizedKeyFiles: [],
      latencyMutateMs: 20,
      errorExitStatus: 0,
      logLevel: "info",
    });
  });

  it("asks for nothing else with --help", () => {
    expect(parseCliArguments(["--help"]).help).toBe(true);
  });

  it.each([
    [[], "--state-dir is required"],
    [["--state-dir", "d", "x"], 'unexpected argument "x"'],
    [["--state-dir", "d", "--colour", "red"], "unknown flag --colour"],
    [["--state-dir"], "--state-dir needs a value"],
    [["--state-dir", "d", "--port", "1", "--port", "2"], "--port given more than once"],
    [["--state-dir", "d", "--port", "65536"], "--port 65536: must be 0 … 65535"],
    [["--state-dir", "d", "--copy-from", "all"], "--copy-from all: must be one of settings-only, data"],
    [["--state-dir", "d", "--allow-host", "no"], "--allow-host no: must be one of ignored, enforce-new, enforce-and-drop"],
    [["--state-dir", "d", "--latency-read", "1m"], "--latency-read 1m: a duration such as 20ms or 1s"],
    [["--state-dir", "d", "--error-exit-status", "2"], "--error-exit-status 2: must be one of 0, 1"],
    [["--state-dir", "d", "--log-level", "trace"], "--log-level trace: must be one of error, warn, info, debug"],
  ])("refuses %j", (argv, message) => {
    expect(() => parseCliArguments(argv)).toThrow(CliUsageError);
    expect(() => parseCliArguments(argv)).toThrow(message);
  });
});
