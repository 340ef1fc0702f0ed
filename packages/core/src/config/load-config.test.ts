import { InvalidArgumentError } from "../errors.js";
import { ConfigError, loadConfig } from "./load-config.js";
import {
  boolSetting,
  durationSetting,
  enumSetting,
  intSetting,
  listSetting,
  stringSetting,
  type ConfigOf,
  type Setting,
} from "./settings.js";

const specs = {
  endpoint: stringSetting({ flag: "csi-endpoint", env: "CSI_ENDPOINT", description: "CSI socket" }),
  metricsPort: intSetting({ flag: "metrics-port", env: "METRICS_PORT", description: "port", default: 9809, min: 0, max: 65535 }),
  sshTimeout: durationSetting({ flag: "ssh-timeout", env: "SSH_TIMEOUT", description: "deadline", default: 30_000 }),
  dryRun: boolSetting({ flag: "dry-run", env: "DRY_RUN", description: "no changes", default: false }),
  logLevel: enumSetting({ flag: "log-level", env: "LOG_LEVEL", description: "level", default: "info", values: ["error", "info"] }),
  basePaths: listSetting({ flag: "base-paths", env: "BASE_PATHS", description: "paths", default: ["/storage"] }),
  password: stringSetting({ flag: "rds-password", env: "RDS_PASSWORD", description: "password", secret: true }),
};

const requiredEnv = { CSI_ENDPOINT: "unix:///csi/csi.sock", RDS_PASSWORD: "hunter2" };

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("returns a typed, frozen config filled from defaults", () => {
    const config = loadConfig(specs, [], requiredEnv);
    const port: number = config.metricsPort;
    const level: "error" | "info" = config.logLevel;
    // @ts-expect-error the config has exactly the spec's keys, so a typo does not compile
    expect(config.metricPort).toBeUndefined();
    expect(config).toEqual({
      endpoint: "unix:///csi/csi.sock",
      metricsPort: 9809,
      sshTimeout: 30_000,
      dryRun: false,
      logLevel: "info",
      basePaths: ["/storage"],
      password: "hunter2",
    });
    expect([port, level]).toEqual([9809, "info"]);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.basePaths)).toBe(true);
  });

  it("keeps values typed for code that is generic over a spec that extends a known one", () => {
    type Known = Pick<typeof specs, "metricsPort" | "basePaths">;
    // Compiles only if ConfigOf<S> resolves each value through S's constraint instead of to unknown.
    function summarize<S extends Known>(config: ConfigOf<S>): string {
      const port: number = config.metricsPort;
      const paths: readonly string[] = config.basePaths;
      return `${port} ${paths.join(",")}`;
    }
    expect(summarize<typeof specs>(loadConfig(specs, [], requiredEnv))).toBe("9809 /storage");
  });

  it("takes a flag over the env var and the env var over the default", () => {
    const env = { ...requiredEnv, METRICS_PORT: "9000", SSH_TIMEOUT: "10s" };
    const config = loadConfig(specs, ["--metrics-port=8080"], env);
    expect(config.metricsPort).toBe(8080);
    expect(config.sshTimeout).toBe(10_000);
    expect(config.dryRun).toBe(false);
  });

  it("does not parse an env var that a flag overrides", () => {
    const config = loadConfig(specs, ["--metrics-port", "8080"], { ...requiredEnv, METRICS_PORT: "junk" });
    expect(config.metricsPort).toBe(8080);
  });

  it("accepts --name=value and --name value, and keeps '=' inside a value", () => {
    const config = loadConfig(specs, ["--csi-endpoint", "unix:///a.sock", "--base-paths=/a=1,/b"], requiredEnv);
    expect(config.endpoint).toBe("unix:///a.sock");
    expect(config.basePaths).toEqual(["/a=1", "/b"]);
  });

  it("reads a bare bool flag as true without taking the next argument as its value", () => {
    expect(loadConfig(specs, ["--dry-run"], requiredEnv).dryRun).toBe(true);
    expect(loadConfig(specs, ["--dry-run", "--log-level", "error"], requiredEnv).logLevel).toBe("error");
    expect(loadConfig(specs, ["--dry-run=false"], { ...requiredEnv, DRY_RUN: "yes" }).dryRun).toBe(false);
    const err = configError(() => loadConfig(specs, ["--dry-run", "false"], requiredEnv));
    expect(err.problems).toEqual(["unexpected argument #2; flags are written --name=value or --name value"]);
  });

  it("throws a ConfigError, an InvalidArgumentError, naming a missing required setting by flag and env var", () => {
    const err = configError(() => loadConfig(specs, [], { RDS_PASSWORD: "x" }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toBe(
      "invalid configuration: --csi-endpoint (env CSI_ENDPOINT): required setting is missing; set the flag or the environment variable",
    );
  });

  it("names the setting, the raw value and where it came from when a value does not parse", () => {
    const fromEnv = configError(() => loadConfig(specs, [], { ...requiredEnv, METRICS_PORT: "80a" }));
    expect(fromEnv.problems).toEqual([
      '--metrics-port (env METRICS_PORT): invalid value "80a" from env METRICS_PORT: must be a whole number',
    ]);
    const fromFlag = configError(() => loadConfig(specs, ["--ssh-timeout=30"], requiredEnv));
    expect(fromFlag.problems).toEqual([
      '--ssh-timeout (env SSH_TIMEOUT): invalid value "30" from flag --ssh-timeout: must be a duration with units, e.g. 500ms, 30s, 5m, 1h or 1m30s',
    ]);
  });

  it("treats an empty env var as a value, so a blank template fails loudly instead of falling back", () => {
    const err = configError(() => loadConfig(specs, [], { ...requiredEnv, CSI_ENDPOINT: "" }));
    expect(err.problems).toEqual(['--csi-endpoint (env CSI_ENDPOINT): invalid value "" from env CSI_ENDPOINT: must not be empty']);
  });

  it("rejects an unknown flag and points at --help", () => {
    const err = configError(() => loadConfig(specs, ["--metric-port=1"], requiredEnv));
    expect(err.problems).toEqual(["unknown flag --metric-port; see --help for the flags this program accepts"]);
  });

  it("rejects a flag given twice", () => {
    const err = configError(() => loadConfig(specs, ["--metrics-port=1", "--metrics-port", "1"], requiredEnv));
    expect(err.problems).toEqual(["--metrics-port (env METRICS_PORT): flag given twice"]);
  });

  it.each([[["--metrics-port"]], [["--metrics-port", "--dry-run"]]])("rejects a flag without its value: %j", (argv) => {
    const err = configError(() => loadConfig(specs, argv, requiredEnv));
    expect(err.problems).toEqual(["--metrics-port (env METRICS_PORT): flag needs a value"]);
  });

  it.each([[["stray"]], [["-p", "1"]], [["--"]]])("rejects an argument that is not a flag: %j", (argv) => {
    const err = configError(() => loadConfig(specs, argv, requiredEnv));
    expect(err.problems[0]).toBe("unexpected argument #1; flags are written --name=value or --name value");
  });

  it("reports every problem at once", () => {
    const err = configError(() => loadConfig(specs, ["--nope", "--log-level=trace"], { METRICS_PORT: "-1" }));
    expect(err.problems).toHaveLength(5);
    expect(err.message).toContain("unknown flag --nope");
    expect(err.message).toContain("--csi-endpoint (env CSI_ENDPOINT): required");
    expect(err.message).toContain("--metrics-port (env METRICS_PORT): invalid value");
    expect(err.message).toContain('--log-level (env LOG_LEVEL): invalid value "trace"');
    expect(err.message).toContain("--rds-password (env RDS_PASSWORD): required");
  });
});

describe("loadConfig with secret settings", () => {
  const secretPort: Setting<number> = {
    flag: "secret-port",
    env: "SECRET_PORT",
    description: "a secret whose parser echoes its input",
    secret: true,
    parse(raw) {
      throw new Error(`"${raw}" is not a port`);
    },
  };

  it("never puts a secret value in the error, even when the parser echoes it", () => {
    const err = configError(() => loadConfig({ secretPort }, ["--secret-port=s3cr3t-value"], {}));
    expect(err.message).not.toContain("s3cr3t-value");
    expect(err.problems).toEqual([
      '--secret-port (env SECRET_PORT): invalid value (hidden, secret) from flag --secret-port: "[redacted]" is not a port',
    ]);
  });

  it("hides an empty secret value too", () => {
    const password = stringSetting({ flag: "rds-password", env: "RDS_PASSWORD", description: "password", secret: true });
    const err = configError(() => loadConfig({ password }, [], { RDS_PASSWORD: "" }));
    expect(err.problems).toEqual([
      "--rds-password (env RDS_PASSWORD): invalid value (hidden, secret) from env RDS_PASSWORD: must not be empty",
    ]);
  });

  it("reports a parser that throws a non-Error by its string form", () => {
    const odd: Setting<string> = {
      flag: "odd",
      env: "ODD",
      description: "a parser that throws a string",
      parse() {
        throw "nope";
      },
    };
    const err = configError(() => loadConfig({ odd }, ["--odd=x"], {}));
    expect(err.problems).toEqual(['--odd (env ODD): invalid value "x" from flag --odd: nope']);
  });
});

describe("loadConfig spec checks", () => {
  const setting = (flag: string, env: string) => stringSetting({ flag, env, description: "d", default: "v" });

  it.each([
    [{ a: setting("CsiEndpoint", "A") }, 'config spec "a": flag "CsiEndpoint" is not kebab-case'],
    [{ a: setting("help", "A") }, 'config spec "a": flag "help"'],
    [{ a: setting("x", "A"), b: setting("x", "B") }, 'config spec "b": flag "x"'],
    [{ a: setting("x", "csi_endpoint") }, 'config spec "a": env "csi_endpoint" is not UPPER_SNAKE_CASE'],
    [{ a: setting("x", "A"), b: setting("y", "A") }, 'config spec "b": env "A"'],
  ])("refuses a malformed spec (%#) as a bug, not as bad input", (bad, message) => {
    expect(() => loadConfig(bad, [], {})).toThrow(message);
    expect(() => loadConfig(bad, [], {})).not.toThrow(ConfigError);
  });
});
