import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pluginCapabilities } from "@rds-csi/core";
import { callUnary, describeEntryPoint, startServiceProcess } from "@rds-csi/testkit";

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
const mainPath = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

describeEntryPoint({
  mainPath,
  program: "rds-csi-node",
  version: packageJson.version,
  // Temp etc and kubelet dirs: start-up creates <etc-dir>/nvme/hostnqn when missing and reconciles
  // what it finds under the kubelet dir, and tests run as root.
  requiredEnv: (dir) => ({ NODE_ID: "node-a", ETC_DIR: dir, KUBELET_DIR: dir }),
});

describe("bin/rds-csi-node", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "rds-csi-node-launcher-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  // CSI GetPluginCapabilities: every instance of a version answers the same set, whichever services it
  // serves; tools decide from the node's answer whether ControllerPublish is called at all.
  it.each([
    ["without a topology", {}, false],
    ["with a topology segment", { TOPOLOGY_KEY: "topology.rds.csi.srvlab.io/rds", TOPOLOGY_VALUE: "rack1" }, true],
  ])("answers GetPluginCapabilities exactly as the controller does, %s", async (_name, topologyEnv, topology) => {
    const service = await startServiceProcess(mainPath, `unix://${join(dir, "csi.sock")}`, ["--metrics-address", "127.0.0.1:0"], { NODE_ID: "node-a", ETC_DIR: dir, KUBELET_DIR: dir, ...topologyEnv });
    try {
      const { identity } = service.clients;
      expect((await callUnary(identity, identity.getPluginCapabilities, {})).capabilities).toEqual(pluginCapabilities({ topology }));
    } finally {
      expect(await service.stop("SIGTERM")).toBe(0);
    }
  });

  it("starts the plugin with the V8 flag it runs with in production", async () => {
    const launcher = fileURLToPath(new URL("../../bin/rds-csi-node", import.meta.url));
    const service = await startServiceProcess(launcher, `unix://${join(dir, "csi.sock")}`, ["--metrics-address", "127.0.0.1:0"], { NODE_ID: "node-a", ETC_DIR: dir, KUBELET_DIR: dir });
    try {
      const argv = (await readFile(`/proc/${service.pid}/cmdline`, "utf8")).split("\0");
      expect(argv.slice(1, 2)).toEqual(["--max-semi-space-size=1"]);
      expect(resolve(argv[2]!)).toBe(mainPath);
    } finally {
      expect(await service.stop("SIGTERM")).toBe(0);
    }
  });
});
