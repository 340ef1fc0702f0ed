import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DEFAULT_DRIVER_NAME } from "@rds-csi/core";
import { generateEd25519KeyPair, startSimulator, type RdsSimulator, type SimulatorOptions } from "@rds-csi/rds-simulator";
import { startFakeApiServer, type FakeApiServer } from "../fake-apiserver/index.js";
import { FakeFabric } from "../fake-nvme/index.js";
import { startServiceProcess, type ServiceProcess } from "../service-process.js";

const run = promisify(execFile);
// testkit cannot depend on the services (their tests depend on testkit), so they are found by path and
// started through their launchers, with the V8 flags they run with in production.
const controllerLauncher = fileURLToPath(new URL("../../../csi-controller/bin/rds-csi-controller", import.meta.url));
const nodeLauncher = fileURLToPath(new URL("../../../csi-node/bin/rds-csi-node", import.meta.url));

export const RIG_BASE_PATH = "/raid10/csi";

export interface SystemRigOptions {
  /** Simulator settings beyond the rig's (state dir, key, pool). */
  readonly simulator?: Partial<Omit<SimulatorOptions, "stateDir" | "authorizedKeys">>;
  /** More controller settings, by environment variable. */
  readonly controllerEnv?: Readonly<Record<string, string>>;
  /** Where to make the rig's directory (default: the OS temp dir). */
  readonly parentDir?: string;
}

/** One node: its host identity, kubelet directory and NVMe/TCP fabric, which outlive its plugin process. */
export interface NodeHost {
  readonly name: string;
  readonly etcDir: string;
  readonly kubeletDir: string;
  readonly fabric: FakeFabric;
  readonly socket: string;
  plugin?: ServiceProcess;
}

/**
 * The whole system on one machine: the RDS simulator and a fake API server in this process, the
 * controller and node plugins as real processes through their launchers, each node on its own fake
 * NVMe/TCP fabric over loop devices (root only). `stop()` ends every process and removes every mount,
 * loop device and file the rig made, whatever state a test left it in.
 */
export class SystemRig {
  readonly nodes = new Map<string, NodeHost>();
  controller?: ServiceProcess;
  #stopped = false;

  private constructor(
    readonly dir: string,
    readonly sim: RdsSimulator,
    readonly api: FakeApiServer,
    readonly keyFile: string,
    readonly kubeconfig: string,
    readonly controllerEnv: Readonly<Record<string, string>>,
  ) {}

  static async start(options: SystemRigOptions = {}): Promise<SystemRig> {
    const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), "rds-csi-system-"));
    const key = generateEd25519KeyPair();
    const keyFile = join(dir, "id_ed25519");
    await writeFile(keyFile, key.private, { mode: 0o600 });
    let sim: RdsSimulator | undefined;
    let api: FakeApiServer | undefined;
    try {
      sim = await startSimulator({ stateDir: join(dir, "rds"), authorizedKeys: key.public, poolName: "raid10", poolSize: "1T", ...options.simulator });
      api = await startFakeApiServer();
      const kubeconfig = join(dir, "kubeconfig");
      await writeFile(kubeconfig, api.kubeConfig().exportConfig());
      return new SystemRig(dir, sim, api, keyFile, kubeconfig, options.controllerEnv ?? {});
    } catch (err) {
      await api?.stop();
      await sim?.stop();
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Starts (or starts again, on the same socket) the controller. */
  async startController(): Promise<ServiceProcess> {
    this.controller = await startServiceProcess(controllerLauncher, `unix://${join(this.dir, "controller.sock")}`, ["--metrics-address", "127.0.0.1:0"], {
      RDS_ADDRESS: "127.0.0.1",
      RDS_SSH_PORT: String(this.sim.port),
      RDS_PRIVATE_KEY_FILE: this.keyFile,
      RDS_HOST_KEY_FINGERPRINT: this.sim.hostKeyFingerprint,
      RDS_BASE_PATH: RIG_BASE_PATH,
      KUBECONFIG: this.kubeconfig,
      LOG_LEVEL: "warn",
      ...this.controllerEnv,
    });
    return this.controller;
  }

  /** Makes a node (host identity, kubelet dir, fabric) the first time, then starts its plugin. */
  async startNode(name: string, env: Readonly<Record<string, string>> = {}): Promise<NodeHost> {
    const host = this.nodes.get(name) ?? (await this.#newHost(name));
    host.plugin = await startServiceProcess(nodeLauncher, `unix://${host.socket}`, ["--metrics-address", "127.0.0.1:0"], {
      NODE_ID: name,
      ETC_DIR: host.etcDir,
      KUBELET_DIR: host.kubeletDir,
      SYSFS_ROOT: host.fabric.sysfsRoot,
      DEV_ROOT: host.fabric.devRoot,
      NVME_CLI: await host.fabric.writeShim(),
      STALE_MOUNT_CHECK_INTERVAL: "1s",
      LOG_LEVEL: "warn",
      ...env,
    });
    return host;
  }

  /** Kubelet's staging path and a pod's target path of `volumeId` on `node`. */
  kubeletPaths(node: string, volumeId: string, pod = "pod-1"): { staging: string; target: string } {
    const kubelet = join(this.dir, `kubelet-${node}`);
    return {
      staging: join(kubelet, "plugins/kubernetes.io/csi", DEFAULT_DRIVER_NAME, volumeId, "globalmount"),
      target: join(kubelet, "pods", pod, "volumes/kubernetes.io~csi", volumeId, "mount"),
    };
  }

  /** Ends every process, unmounts what the rig's nodes mounted, detaches their loop devices, removes the directory. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const failures: unknown[] = [];
    const step = async (work: () => Promise<unknown>): Promise<void> => {
      await work().catch((err: unknown) => failures.push(err));
    };
    for (const host of this.nodes.values()) await step(async () => host.plugin?.stop("SIGKILL"));
    await step(async () => this.controller?.stop("SIGKILL"));
    await step(() => unmountAllUnder(this.dir));
    for (const host of this.nodes.values()) await step(() => host.fabric.cleanup());
    await step(() => this.api.stop());
    await step(() => this.sim.stop());
    await step(() => rm(this.dir, { recursive: true, force: true }));
    if (failures.length > 0) throw new AggregateError(failures, `system rig clean-up failed: ${String(failures[0])}`);
  }

  async #newHost(name: string): Promise<NodeHost> {
    const etcDir = join(this.dir, `etc-${name}`);
    // What `nvme gen-hostnqn` and the distribution's package leave on a node.
    const uuid = randomUUID();
    await mkdir(join(etcDir, "nvme"), { recursive: true });
    await writeFile(join(etcDir, "nvme", "hostnqn"), `nqn.2014-08.org.nvmexpress:uuid:${uuid}\n`);
    await writeFile(join(etcDir, "nvme", "hostid"), `${uuid}\n`);
    const fabric = await FakeFabric.create({ simulatorUrl: this.sim.controlUrl, hostNqn: `nqn.2014-08.org.nvmexpress:uuid:${uuid}`, baseDir: join(this.dir, `fabric-${name}`) });
    const host: NodeHost = { name, etcDir, kubeletDir: join(this.dir, `kubelet-${name}`), fabric, socket: join(this.dir, `node-${name}.sock`) };
    // The kubelet's root directory exists before any plugin runs; the node acts only on paths inside it.
    await mkdir(host.kubeletDir, { recursive: true });
    this.nodes.set(name, host);
    return host;
  }
}

/** Mount points at or below `dir`, deepest (most recently stacked) first. */
export async function mountPointsUnder(dir: string): Promise<string[]> {
  const table = await readFile("/proc/self/mountinfo", "utf8");
  // mountinfo field 5 is the mount point, with spaces and the like octal-escaped.
  return table
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point): point is string => point !== undefined && point.startsWith(`${dir}/`))
    .reverse();
}

export async function unmountAllUnder(dir: string): Promise<void> {
  for (const point of await mountPointsUnder(dir)) {
    await run("umount", [point], { timeout: 20_000 }).catch(() => run("umount", ["--lazy", point], { timeout: 20_000 }));
  }
}
