import { mkdtemp, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { callUnary } from "./csi-client.js";
import { runToExit, startServiceProcess } from "./service-process.js";

export interface EntryPointExpectations {
  /** Absolute path of the service's compiled main.js. */
  readonly mainPath: string;
  readonly program: string;
  readonly version: string;
  /** Settings the service requires beyond the common ones, as environment variables; `dir` is the test's temp dir. */
  readonly requiredEnv?: (dir: string) => NodeJS.ProcessEnv;
}

/**
 * The behaviour every service's main.js shares: help, configuration errors that name the setting,
 * CSI Identity over a unix socket, a clear error for an unusable endpoint, and a clean SIGTERM.
 * Each service's own test calls this with its paths.
 */
export function describeEntryPoint(expected: EntryPointExpectations): void {
  describe(`${expected.program} entry point`, () => {
    let dir: string;
    const env = (): NodeJS.ProcessEnv => expected.requiredEnv?.(dir) ?? {};
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "rds-csi-main-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("prints its settings with --help and exits 0", async () => {
      const result = await runToExit(expected.mainPath, ["--help"], env());
      expect(result.code).toBe(0);
      for (const text of [expected.program, "--csi-endpoint", "CSI_ENDPOINT", "--driver-name", "rds.csi.srvlab.io", "--log-level", "--metrics-address"]) {
        expect(result.stdout).toContain(text);
      }
    });

    it("serves GetPluginInfo and Probe on its unix socket and removes the socket on SIGTERM", async () => {
      const socket = join(dir, "plugin", "csi.sock");
      const service = await startServiceProcess(expected.mainPath, `unix://${socket}`, ["--metrics-address", "127.0.0.1:0"], env());
      try {
        const { identity } = service.clients;
        expect(await callUnary(identity, identity.getPluginInfo, {})).toEqual({
          name: "rds.csi.srvlab.io",
          vendorVersion: expected.version,
          manifest: {},
        });
        expect(await callUnary(identity, identity.probe, {})).toEqual({ ready: true });
      } finally {
        expect(await service.stop("SIGTERM")).toBe(0);
      }
      await expect(stat(socket)).rejects.toMatchObject({ code: "ENOENT" });
      expect(service.output().stdout).toContain('"message":"CSI server stopped"');
    });

    it("uses the driver name it is given", async () => {
      const socket = join(dir, "csi.sock");
      const service = await startServiceProcess(expected.mainPath, `unix://${socket}`, ["--metrics-address", "127.0.0.1:0"], {
        ...env(),
        CSI_DRIVER_NAME: "rds.example.org",
      });
      try {
        const { identity } = service.clients;
        expect((await callUnary(identity, identity.getPluginInfo, {})).name).toBe("rds.example.org");
      } finally {
        await service.stop();
      }
    });

    it.each([
      [["--csi-endpoint", "/no/scheme.sock"], "--csi-endpoint (env CSI_ENDPOINT)", "the scheme must be unix:// or tcp://"],
      [["--csi-endpoint", "tcp://127.0.0.1:99999"], "--csi-endpoint (env CSI_ENDPOINT)", "port from 0 to 65535"],
      [["--driver-name", "-bad-"], "--driver-name (env CSI_DRIVER_NAME)", "at most 63 characters"],
      [["--log-level", "loud"], "--log-level (env LOG_LEVEL)", "must be one of error, warn, info, debug"],
      [["--no-such-flag"], "--no-such-flag", "--help"],
    ])("refuses %j with exit code 2 and a message naming the setting", async (args, name, problem) => {
      const result = await runToExit(expected.mainPath, args, env());
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(name);
      expect(result.stderr).toContain(problem);
    });

    it("exits 1 naming the endpoint when its TCP port is taken", async () => {
      const taken: Server = createServer();
      await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
      try {
        const address = taken.address();
        const port = typeof address === "object" && address ? address.port : 0;
        const result = await runToExit(expected.mainPath, ["--csi-endpoint", `tcp://127.0.0.1:${port}`, "--metrics-address", "127.0.0.1:0"], env());
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`cannot listen on tcp://127.0.0.1:${port}`);
      } finally {
        await new Promise<void>((resolve) => taken.close(() => resolve()));
      }
    });

    it("exits 1 naming the path when the socket directory cannot be created", async () => {
      const result = await runToExit(expected.mainPath, ["--csi-endpoint", "unix:///proc/rds-csi/csi.sock", "--metrics-address", "127.0.0.1:0"], env());
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("/proc/rds-csi");
    });
  });
}
