import { renderHelp, wantsHelp } from "./help.js";
import { durationSetting, intSetting, listSetting, stringSetting, type Setting } from "./settings.js";

describe("wantsHelp", () => {
  it.each([
    [["--help"], true],
    [["--csi-endpoint=x", "-h"], true],
    [["--csi-endpoint=x"], false],
    [[], false],
  ])("%j → %s", (argv, expected) => {
    expect(wantsHelp(argv)).toBe(expected);
  });
});

describe("renderHelp", () => {
  const custom: Setting<string> = { flag: "node-id", env: "NODE_ID", description: "This node's name.", parse: (raw) => raw };
  const specs = {
    endpoint: stringSetting({ flag: "csi-endpoint", env: "CSI_ENDPOINT", description: "Path of the CSI socket." }),
    port: intSetting({ flag: "metrics-port", env: "METRICS_PORT", description: "Port of /metrics.", default: 9809, min: 0, max: 65535 }),
    timeout: durationSetting({ flag: "ssh-timeout", env: "SSH_TIMEOUT", description: "SSH deadline.", default: 90_000 }),
    paths: listSetting({ flag: "base-paths", env: "BASE_PATHS", description: "Allowed paths.", default: [] }),
    password: stringSetting({
      flag: "rds-password",
      env: "RDS_PASSWORD",
      description: "RDS password.",
      default: "factory-default-pw",
      secret: true,
    }),
    nodeId: custom,
  };
  const help = renderHelp("csi-node", "The node plugin of rds-csi.", specs);

  it("starts with usage and the summary", () => {
    expect(help.startsWith("Usage: csi-node [flags]\n\nThe node plugin of rds-csi.\n")).toBe(true);
    expect(help).toContain("  --help, -h\n");
  });

  it("lists each flag with its value type, env var, default and description", () => {
    expect(help).toContain("  --csi-endpoint <string>\n      env CSI_ENDPOINT; required\n      Path of the CSI socket.\n");
    expect(help).toContain('  --metrics-port <int 0..65535>\n      env METRICS_PORT; default "9809"\n      Port of /metrics.\n');
    expect(help).toContain('  --base-paths <list>\n      env BASE_PATHS; default ""\n');
    expect(help).toContain("  --node-id <value>\n      env NODE_ID; required\n");
  });

  it("shows a duration default in the syntax the flag accepts", () => {
    expect(help).toContain('  --ssh-timeout <duration>\n      env SSH_TIMEOUT; default "1m30s"\n');
  });

  it("hides a secret's default", () => {
    expect(help).toContain("  --rds-password <string>\n      env RDS_PASSWORD; default hidden\n");
    expect(help).not.toContain("factory-default-pw");
  });
});
