import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { csi, GiB, pluginCapabilities } from "@rds-csi/core";
import { generateEd25519KeyPair, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { callUnary, runToExit, startFakeApiServer, startServiceProcess, type FakeApiServer } from "@rds-csi/testkit";

const mainPath = fileURLToPath(new URL("./main.js", import.meta.url));
const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;
const key = generateEd25519KeyPair();

describe("rds-csi-controller entry point", () => {
  let dir: string;
  let keyFile: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "rds-csi-controller-main-"));
    keyFile = join(dir, "id_ed25519");
    await writeFile(keyFile, key.private, { mode: 0o600 });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints its settings with --help and exits 0", async () => {
    const result = await runToExit(mainPath, ["--help"]);
    expect(result.code).toBe(0);
    for (const text of ["rds-csi-controller", "--csi-endpoint", "--rds-address", "RDS_PRIVATE_KEY_FILE", "--rds-host-key-fingerprint", "--copy-strategy-trust", "--volume-size-max"]) {
      expect(result.stdout).toContain(text);
    }
  });

  it("exits 2 naming every missing setting", async () => {
    const result = await runToExit(mainPath, []);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--rds-address (env RDS_ADDRESS): required setting is missing");
    expect(result.stderr).toContain("--rds-private-key-file (env RDS_PRIVATE_KEY_FILE): required setting is missing");
  });

  it("exits 1 when no way of checking the RDS's host key is chosen", async () => {
    const result = await runToExit(mainPath, [], { RDS_ADDRESS: "127.0.0.1", RDS_PRIVATE_KEY_FILE: keyFile });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("set exactly one of --rds-host-key-fingerprint");
    expect(result.stderr).not.toContain("PRIVATE KEY");
  });

  describe("against a simulated RDS and API server", () => {
    let sim: RdsSimulator;
    let api: FakeApiServer;
    let env: NodeJS.ProcessEnv;
    beforeEach(async () => {
      sim = await startSimulator({ stateDir: join(dir, "rds"), authorizedKeys: key.public, poolName: "raid10", poolSize: "10G" });
      api = await startFakeApiServer();
      const kubeconfig = join(dir, "kubeconfig");
      await writeFile(kubeconfig, api.kubeConfig().exportConfig());
      env = {
        RDS_ADDRESS: "127.0.0.1",
        RDS_SSH_PORT: String(sim.port),
        RDS_PRIVATE_KEY_FILE: keyFile,
        RDS_HOST_KEY_FINGERPRINT: sim.hostKeyFingerprint,
        RDS_BASE_PATH: "/raid10/csi",
        KUBECONFIG: kubeconfig,
      };
    });
    afterEach(async () => {
      await api.stop();
      await sim.stop();
    });

    it("serves Identity and Controller, is ready once connected, and removes its socket on SIGTERM", async () => {
      const socket = join(dir, "csi.sock");
      const service = await startServiceProcess(mainPath, `unix://${socket}`, ["--metrics-address", "127.0.0.1:0"], env);
      try {
        const { identity, controller } = service.clients;
        expect(await callUnary(identity, identity.getPluginInfo, {})).toEqual({ name: "rds.csi.srvlab.io", vendorVersion: version, manifest: {} });
        // The node plugin answers the same (csi-node main.test.ts): one list for both, built in core.
        expect((await callUnary(identity, identity.getPluginCapabilities, {})).capabilities).toEqual(pluginCapabilities({ topology: false }));
        await waitFor(async () => (await callUnary(identity, identity.probe, {})).ready === true);
        const capability = csi.VolumeCapability.fromPartial({ mount: {}, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });
        const { volume } = await callUnary(controller, controller.createVolume, csi.CreateVolumeRequest.fromPartial({ name: "main-test", volumeCapabilities: [capability] }));
        expect(volume).toMatchObject({ capacityBytes: GiB, volumeContext: { nvmeAddress: "127.0.0.1", nvmePort: "4420" } });
        expect(sim.disks().map((disk) => disk.filePath)).toEqual([`/raid10/csi/${volume!.volumeId}.img`]);
        await callUnary(controller, controller.deleteVolume, csi.DeleteVolumeRequest.fromPartial({ volumeId: volume!.volumeId }));
        expect(sim.disks()).toEqual([]);
      } finally {
        expect(await service.stop("SIGTERM")).toBe(0);
      }
      await expect(stat(socket)).rejects.toMatchObject({ code: "ENOENT" });
      expect(service.output().stdout).not.toContain("PRIVATE KEY");
    });

    it("bin/rds-csi-controller starts it with the V8 heap limits it runs with in production", async () => {
      const launcher = fileURLToPath(new URL("../bin/rds-csi-controller", import.meta.url));
      const service = await startServiceProcess(launcher, `unix://${join(dir, "csi.sock")}`, ["--metrics-address", "127.0.0.1:0"], env);
      try {
        const argv = (await readFile(`/proc/${service.pid}/cmdline`, "utf8")).split("\0");
        expect(argv.slice(1, 3)).toEqual(["--max-semi-space-size=2", "--max-old-space-size=96"]);
        expect(resolve(argv[3]!)).toBe(mainPath);
      } finally {
        expect(await service.stop("SIGTERM")).toBe(0);
      }
    });
  });
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met within 15 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
