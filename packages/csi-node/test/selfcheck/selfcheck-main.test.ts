import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { describeAsRoot, rdsEnv } from "@rds-csi/testkit";
import { BASE_PATH, useSelfcheckRig } from "../support/selfcheck-rig.js";

const rig = useSelfcheckRig();
const mainPath = fileURLToPath(new URL("../../../dist/main.js", import.meta.url));

function env(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...rdsEnv(rig.sim, rig.keyFile, BASE_PATH),
    NVME_CLI: rig.shim,
    SYSFS_ROOT: rig.fabric.sysfsRoot,
    DEV_ROOT: rig.fabric.devRoot,
    ETC_DIR: rig.etcDir,
    SELFCHECK_SCRATCH_SIZE: "1Mi",
    SELFCHECK_DROP_WAIT: "500ms",
    ...overrides,
  };
}

/**
 * Runs `node main.js <args>` to its exit. Not testkit's runToExit: a whole check (four volumes, six
 * attaches) can outlast its 20 s cap on a loaded machine.
 */
function runToExit(args: readonly string[], environment: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [mainPath, ...args], { env: { PATH: process.env["PATH"], ...environment }, timeout: 55_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : null, stdout, stderr });
    });
  });
}

/** A port on which nothing listens: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("rds-csi-node selfcheck (the process)", () => {
  // The whole check attaches scratch volumes through the fake fabric onto loop devices and writes them with dd.
  describeAsRoot("the whole check", () => {
    it("runs the check and prints the verdicts as JSON, exit 0", async () => {
      await rig.modes("data", "enforce-and-drop");
      const result = await runToExit(["selfcheck", "--output", "json"], env());
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(report).toMatchObject({
        rds: { rdsAddress: "127.0.0.1", rdsSshPort: rig.sim.port, basePath: BASE_PATH },
        hostNqn: rig.host.hostNqn,
        verdicts: {
          copy: { snapshotRestore: { result: "copies-data" }, clone: { result: "copies-data" } },
          hostAccess: { newConnections: { result: "refused" }, liveConnections: { result: "dropped" } },
        },
        leftovers: [],
      });
      expect(report["advice"]).toEqual([
        expect.objectContaining({ setting: expect.stringContaining("--copy-strategy-trust"), value: "verified" }),
        expect.objectContaining({ setting: expect.stringContaining("--host-access-control-trust"), value: "verified" }),
      ]);
    }, 60_000);
  });

  it("exits 1 naming the address when the RDS cannot be reached", async () => {
    const port = await closedPort();
    const result = await runToExit(["selfcheck"], env({ RDS_SSH_PORT: String(port) }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`could not run against the RDS at 127.0.0.1:${port}`);
    expect(result.stdout).toContain("The check could not run");
  }, 60_000);

  it("exits 2 naming the setting when the configuration is wrong", async () => {
    const result = await runToExit(["selfcheck", "--scratch-size", "1500Ki"], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--scratch-size (env SELFCHECK_SCRATCH_SIZE)");
  }, 60_000);
});
