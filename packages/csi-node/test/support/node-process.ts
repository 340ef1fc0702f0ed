import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildPublishContext, csi, DEFAULT_DRIVER_NAME } from "@rds-csi/core";
import type { RdsSimulator } from "@rds-csi/rds-simulator";
import { callUnary, FakeFabric, startServiceProcess, type ServiceProcess } from "@rds-csi/testkit";
import { readMountTable } from "./mount-table.js";
import { loadHostIdentity } from "../../src/nvme/host-identity.js";
import { kubeletCsiPluginDir } from "../../src/startup-reconciliation.js";

const nodeMain = fileURLToPath(new URL("../../../dist/main.js", import.meta.url));

/** One node as the plugin process sees it: host /etc, kubelet dir and a fake fabric, kept across plugin restarts. */
export interface ProcessHost {
  readonly name: string;
  readonly etcDir: string;
  readonly kubeletDir: string;
  readonly fabric: FakeFabric;
  readonly shim: string;
  readonly socket: string;
}

export interface StartOptions {
  /** Directories put before PATH (wrappers of mount, mkfs, blkid, …). */
  readonly pathPrefix?: readonly string[];
  /** The nvme-cli the plugin runs (default: the fabric's shim). */
  readonly nvmeCli?: string;
  /** More settings of the plugin, by environment variable. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The node plugin as a real process (dist/main.js) on a unix socket, driven over gRPC as kubelet would,
 * against the fake fabric of a node rig's simulator. Call it **before** useNodeRig in the same describe:
 * its afterEach must run first (kill the plugins, unmount, disconnect) so the rig's own clean-up and
 * leak checks see the end state.
 */
export function useNodeProcesses(rig: () => { readonly dir: string; readonly sim: RdsSimulator }) {
  const processes: ServiceProcess[] = [];
  const hosts: ProcessHost[] = [];

  afterEach(async () => {
    for (const plugin of processes.splice(0)) await plugin.stop("SIGKILL");
    const dir = rig().dir;
    const mounts = (await readMountTable()).map((m) => m.mountPoint).filter((path) => path.startsWith(`${dir}/`));
    for (const mountPoint of mounts.reverse()) {
      try {
        execFileSync("umount", [mountPoint]);
      } catch {
        execFileSync("umount", ["--lazy", mountPoint]);
      }
    }
    for (const host of hosts.splice(0)) await host.fabric.cleanup();
  }, 30_000);

  const newHost = async (name: string): Promise<ProcessHost> => {
    const { dir, sim } = rig();
    const etcDir = await mkdtemp(join(dir, `etc-${name}-`));
    const identity = await loadHostIdentity(etcDir);
    const fabric = await FakeFabric.create({ simulatorUrl: sim.controlUrl, hostNqn: identity.hostNqn, hostId: identity.hostId });
    const host: ProcessHost = { name, etcDir, kubeletDir: join(dir, `kubelet-${name}`), fabric, shim: await fabric.writeShim(), socket: join(dir, `csi-${name}.sock`) };
    hosts.push(host);
    return host;
  };

  const start = async (host: ProcessHost, options: StartOptions = {}): Promise<ServiceProcess> => {
    const plugin = await startServiceProcess(nodeMain, `unix://${host.socket}`, ["--metrics-address", "127.0.0.1:0"], {
      PATH: [...(options.pathPrefix ?? []), process.env.PATH ?? ""].join(":"),
      NODE_ID: host.name,
      ETC_DIR: host.etcDir,
      KUBELET_DIR: host.kubeletDir,
      SYSFS_ROOT: host.fabric.sysfsRoot,
      DEV_ROOT: host.fabric.devRoot,
      NVME_CLI: options.nvmeCli ?? host.shim,
      NAMESPACE_TIMEOUT: "10s",
      LOG_LEVEL: "debug",
      ...options.env,
    });
    processes.push(plugin);
    return plugin;
  };

  return { newHost, start };
}

/** Kubelet's paths and the Node RPCs of one volume, over a plugin's socket. */
export function kubeletView(host: ProcessHost, volumeId: string, nqn: string) {
  const stagingPath = join(kubeletCsiPluginDir(host.kubeletDir), DEFAULT_DRIVER_NAME, volumeId, "globalmount");
  const targetPath = (pod: string) => join(host.kubeletDir, "pods", pod, "volumes", "kubernetes.io~csi", volumeId, "mount");
  const capability: csi.VolumeCapability = {
    mount: { fsType: "ext4", mountFlags: [], volumeMountGroup: "" },
    accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER },
  };
  const publishContext = buildPublishContext({ address: "127.0.0.1", port: 4420, nqn });
  const volumeContext = { ctrlLossTmo: "60", reconnectDelay: "2", keepAliveTmo: "5" };
  const settings = { deadlineMs: 60_000 };
  return {
    stagingPath,
    targetPath,
    /** kubelet makes the staging directory's parent before NodeStage */
    stage: async (plugin: ServiceProcess) => {
      await mkdir(stagingPath, { recursive: true });
      const { node } = plugin.clients;
      return callUnary(node, node.nodeStageVolume, { volumeId, publishContext, stagingTargetPath: stagingPath, volumeCapability: capability, secrets: {}, volumeContext }, settings);
    },
    unstage: (plugin: ServiceProcess) => {
      const { node } = plugin.clients;
      return callUnary(node, node.nodeUnstageVolume, { volumeId, stagingTargetPath: stagingPath }, settings);
    },
    publish: (plugin: ServiceProcess, pod: string) => {
      const { node } = plugin.clients;
      return callUnary(
        node,
        node.nodePublishVolume,
        { volumeId, publishContext, stagingTargetPath: stagingPath, targetPath: targetPath(pod), volumeCapability: capability, readonly: false, secrets: {}, volumeContext },
        settings,
      );
    },
    unpublish: (plugin: ServiceProcess, pod: string) => {
      const { node } = plugin.clients;
      return callUnary(node, node.nodeUnpublishVolume, { volumeId, targetPath: targetPath(pod) }, settings);
    },
  };
}

/** How many mounts sit at `path` (stacked mounts count each). */
export async function mountCount(path: string): Promise<number> {
  return (await readMountTable()).filter((m) => m.mountPoint === path).length;
}

/**
 * Writes `<dir>/<program>`: runs the real program, then — once, while `flag` exists and `when` (a shell
 * test on "$@") holds — kills its parent with SIGKILL: the plugin dies right after that step, as in a
 * node crash or an OOM kill.
 */
export async function writeCrashWrapper(dir: string, program: string, real: string, flag: string, when = "true"): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, program);
  await writeFile(
    path,
    `#!/bin/sh\n"${real}" "$@"\nrc=$?\nif [ $rc -eq 0 ] && [ -e "${flag}" ] && ${when}; then rm -f "${flag}"; kill -9 $PPID; fi\nexit $rc\n`,
  );
  await chmod(path, 0o755);
  return path;
}
