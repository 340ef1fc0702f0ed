import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger, VolumeLayout, type Logger } from "@rds-csi/core";
import { createRdsClient, type RdsClient, type Ssh2Transport } from "@rds-csi/core/routeros";
import { generateEd25519KeyPair, operatorLogin, startSimulator, type AllowHostMode, type CopyFromMode, type RdsSimulator } from "@rds-csi/rds-simulator";
import { FakeFabric } from "@rds-csi/testkit";
import { loadHostIdentity, type HostIdentity } from "../../src/nvme/host-identity.js";

export const BASE_PATH = "/raid10/csi";
export const quiet: Logger = createLogger({ level: "error", component: "test", stream: new PassThrough().resume() });
const key = generateEd25519KeyPair();

/** Loop devices whose backing file lies under `dir` (the simulator's files). */
export function loopsUnder(dir: string): string[] {
  const out = execFileSync("losetup", ["--list", "--noheadings", "--output", "NAME,BACK-FILE"], { encoding: "utf8" });
  return out.split("\n").filter((line) => line.includes(dir));
}

/**
 * The self-check's world in a test: a simulated RDS in the given semantic modes, this host's identity
 * in a temp /etc, and the fake fabric standing in for the kernel. A connection the RDS drops shows up
 * in the fabric as the kernel would show it (the controller leaves `live`). Registers its own hooks;
 * afterEach proves nothing is left: no disks on the RDS, no loop devices, no fabric controllers.
 */
export function useSelfcheckRig() {
  const state = {} as {
    dir: string;
    sim: RdsSimulator;
    fabric: FakeFabric;
    host: HostIdentity;
    etcDir: string;
    shim: string;
    keyFile: string;
    transport: Ssh2Transport;
    rds: RdsClient;
    unsubscribe: () => void;
  };

  beforeEach(async () => {
    state.dir = await mkdtemp(join(tmpdir(), "rds-csi-selfcheck-test-"));
    state.sim = await startSimulator({ stateDir: join(state.dir, "rds"), authorizedKeys: key.public, poolSize: "1G" });
    state.etcDir = join(state.dir, "etc");
    state.host = await loadHostIdentity(state.etcDir);
    state.fabric = await FakeFabric.create({ simulatorUrl: state.sim.controlUrl, hostNqn: state.host.hostNqn });
    state.shim = await state.fabric.writeShim();
    state.keyFile = join(state.dir, "id_ed25519");
    await writeFile(state.keyFile, key.private, { mode: 0o600 });
    state.unsubscribe = state.sim.onConnectionDropped((dropped) => {
      if (dropped.hostNqn === state.host.hostNqn) void state.fabric.loseConnection(dropped.nqn);
    });
    const client = createRdsClient({
      connection: operatorLogin(state.sim, key.private),
      layout: new VolumeLayout({ basePath: BASE_PATH, nqnPrefix: "nqn.2000-02.com.mikrotik" }),
      copyStrategy: { name: "disk-copy-from", trust: "unverified" },
      logger: quiet,
    });
    state.transport = client.transport;
    state.rds = client.rds;
    state.transport.start();
  }, 30_000);

  afterEach(async () => {
    state.unsubscribe();
    await state.transport.close();
    const controllers = (await state.fabric.state()).controllers;
    await state.fabric.cleanup();
    await state.sim.stop();
    const loops = loopsUnder(state.dir);
    const disks = state.sim.disks();
    await rm(state.dir, { recursive: true, force: true });
    // Checked after the teardown, so a failing run still leaves nothing behind.
    expect({ controllers, loops, disks }).toEqual({ controllers: [], loops: [], disks: [] });
  }, 30_000);

  return {
    get dir(): string {
      return state.dir;
    },
    get sim(): RdsSimulator {
      return state.sim;
    },
    get fabric(): FakeFabric {
      return state.fabric;
    },
    get host(): HostIdentity {
      return state.host;
    },
    get etcDir(): string {
      return state.etcDir;
    },
    get shim(): string {
      return state.shim;
    },
    get keyFile(): string {
      return state.keyFile;
    },
    get rds(): RdsClient {
      return state.rds;
    },
    modes: (copyFrom: CopyFromMode, allowHost: AllowHostMode) => state.sim.updateSettings({ copyFrom, allowHost }),
  };
}
