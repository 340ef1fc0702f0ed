import { describeConfig } from "./describe-config.js";
import { loadConfig } from "./load-config.js";
import { boolSetting, durationSetting, listSetting, stringSetting } from "./settings.js";

describe("describeConfig", () => {
  const specs = {
    endpoint: stringSetting({ flag: "csi-endpoint", env: "CSI_ENDPOINT", description: "socket" }),
    timeout: durationSetting({ flag: "ssh-timeout", env: "SSH_TIMEOUT", description: "deadline", default: 30_000 }),
    dryRun: boolSetting({ flag: "dry-run", env: "DRY_RUN", description: "no changes", default: true }),
    paths: listSetting({ flag: "base-paths", env: "BASE_PATHS", description: "paths", default: ["/a", "/b"] }),
    password: stringSetting({ flag: "rds-password", env: "RDS_PASSWORD", description: "password", secret: true }),
  };

  it("keys the effective values by flag, in the syntax an operator writes, with secrets redacted", () => {
    const config = loadConfig(specs, ["--rds-password=s3cr3t"], { CSI_ENDPOINT: "unix:///csi.sock" });
    const described = describeConfig(specs, config);
    expect(described).toEqual({
      "csi-endpoint": "unix:///csi.sock",
      "ssh-timeout": "30s",
      "dry-run": "true",
      "base-paths": "/a,/b",
      "rds-password": "[redacted]",
    });
    expect(JSON.stringify(described)).not.toContain("s3cr3t");
  });
});
