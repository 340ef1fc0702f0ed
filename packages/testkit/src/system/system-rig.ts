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
import { rdsEnv, type RdsEndpoint } from "./rds-env.js";

const run = promisify(execFile);
// testkit cannot depend on the services (their tests depend on testkit), so they are found by path and
// started through their launchers, with the V8 flags they run with in production.
const controllerLauncher = fileURLToPath(new URL("../../../csi-controller/bin/rds-csi-controller", import.meta.url));
const nodeLauncher = fileURLToPath(new URL("../../../csi-node/bin/rds-csi-node", import.meta.url));


export interface SystemRigOptions {
  /** Simulator settings beyond the rig's (state dir, key, pool). */
  readonly simulator?: Partial<Omit<SimulatorOptions, "stateDir" | "authorizedKeys">>;
  /** More controller settings, by environment variable. */
  readonly controllerEnv?: Readonly<Record<string, string>>;
  /** Where to make the rig's directory (default: the OS temp dir). */
  readonly parentDir?: string;
  /**
   * Namespaces' I/O through the fabric's FUSE gate, so I/O on a controller the kernel deleted fails as
   * it would (see the fabric's README); off by default (needs fuse3 and python3-fusepy).
   */
  readonly gatedIo?: boolean;
}

/** One node: its host identity, kubelet directory and NVMe/TCP fabric, which outlive its plugin process. */
export interface NodeHost {
  readonly name: string;
  /** The NVMe host NQN under etcDir, which the plugin connects with. */
  readonly hostNqn: string;
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
    readonly gatedIo: boolean,
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
      return new SystemRig(dir, sim, api, keyFile, kubeconfig, options.controllerEnv ?? {}, options.gatedIo ?? false);
    } catch (err) {
      await api?.stop();
      await sim?.stop();
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Starts (or starts again, on the same socket) the controller. */
  async startController(): Promise<ServiceProcess> {
    this.controller = await startControllerProcess({ dir: this.dir, rds: this.sim, keyFile: this.keyFile, kubeconfig: this.kubeconfig, env: this.controllerEnv });
    return this.controller;
  }

  /** Makes a node (host identity, kubelet dir, fabric) the first time, then starts its plugin. */
  async startNode(name: string, env: Readonly<Record<string, string>> = {}): Promise<NodeHost> {
    let host = this.nodes.get(name);
    if (host === undefined) {
      host = await makeNodeHost(this.dir, name, this.sim.controlUrl, { gatedIo: this.gatedIo });
      this.nodes.set(name, host);
    }
    host.plugin = await startNodeProcess(host, env);
    return host;
  }

  /** Kubelet's staging path and a pod's target path of `volumeId` on `node`. */
  kubeletPaths(node: string, volumeId: string, pod = "pod-1"): { staging: string; target: string } {
    return kubeletPaths(this.nodes.get(node)?.kubeletDir ?? join(this.dir, `kubelet-${node}`), volumeId, pod);
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
}

export interface ControllerProcessOptions {
  readonly dir: string;
  readonly rds: RdsEndpoint;
  readonly keyFile: string;
  readonly kubeconfig: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** The controller through its launcher, on `<dir>/controller.sock`, against the RDS at 127.0.0.1. */
export function startControllerProcess(options: ControllerProcessOptions): Promise<ServiceProcess> {
  return startServiceProcess(controllerLauncher, `unix://${join(options.dir, "controller.sock")}`, ["--metrics-address", "127.0.0.1:0"], {
    ...rdsEnv(options.rds, options.keyFile),
    KUBECONFIG: options.kubeconfig,
    LOG_LEVEL: "warn",
    ...options.env,
  });
}

/**
 * A node's host: its NVMe host identity under `<dir>/etc-<name>` (what `nvme gen-hostnqn` and the
 * distribution's package leave on a node), kubelet directory, and a fake NVMe/TCP fabric of its own
 * over the simulator at `simulatorUrl`.
 */
export async function makeNodeHost(dir: string, name: string, simulatorUrl: string, fabricOptions: { readonly gatedIo?: boolean } = {}): Promise<NodeHost> {
  const etcDir = join(dir, `etc-${name}`);
  const uuid = randomUUID();
  const hostNqn = `nqn.2014-08.org.nvmexpress:uuid:${uuid}`;
  await mkdir(join(etcDir, "nvme"), { recursive: true });
  await writeFile(join(etcDir, "nvme", "hostnqn"), `${hostNqn}\n`);
  await writeFile(join(etcDir, "nvme", "hostid"), `${uuid}\n`);
  // The kubelet's root directory exists before any plugin runs; the node acts only on paths inside it.
  const kubeletDir = join(dir, `kubelet-${name}`);
  await mkdir(kubeletDir, { recursive: true });
  const fabric = await FakeFabric.create({ simulatorUrl, hostNqn, baseDir: join(dir, `fabric-${name}`), ...fabricOptions });
  return { name, hostNqn, etcDir, kubeletDir, fabric, socket: join(dir, `node-${name}.sock`) };
}

/** The node plugin through its launcher, on the host's socket and fabric; the stale-mount check runs every second. */
export async function startNodeProcess(host: NodeHost, env: Readonly<Record<string, string>> = {}): Promise<ServiceProcess> {
  return startServiceProcess(nodeLauncher, `unix://${host.socket}`, ["--metrics-address", "127.0.0.1:0"], {
    NODE_ID: host.name,
    ETC_DIR: host.etcDir,
    KUBELET_DIR: host.kubeletDir,
    SYSFS_ROOT: host.fabric.sysfsRoot,
    DEV_ROOT: host.fabric.devRoot,
    NVME_CLI: await host.fabric.writeShim(),
    STALE_MOUNT_CHECK_INTERVAL: "1s",
    LOG_LEVEL: "warn",
    ...env,
  });
}

/** Kubelet's staging path and a pod's target path of `volumeId` under `kubeletDir`. */
export function kubeletPaths(kubeletDir: string, volumeId: string, pod = "pod-1"): { staging: string; target: string } {
  return {
    staging: join(kubeletDir, "plugins/kubernetes.io/csi", DEFAULT_DRIVER_NAME, volumeId, "globalmount"),
    target: join(kubeletDir, "pods", pod, "volumes/kubernetes.io~csi", volumeId, "mount"),
  };
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
