import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { buildPublishContext, createLogger, csi, DEFAULT_DRIVER_NAME, MetricsRegistry, OperationLocks, ProcessExec, type CallContext, type Exec } from "@rds-csi/core";
import { changeAsOperator, generateEd25519KeyPair, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { FakeFabric, loopsLeftOver, type BlockDevices, type FabricLayout, type FakeFabricOptions, type NamespaceIds } from "@rds-csi/testkit";
import { ExecMounter } from "../../src/mount/exec-mounter.js";
import type { MountInfoEntry } from "../../src/mount/parse-mountinfo.js";
import { Formatter } from "../../src/mount/format.js";
import { FilesystemProbe } from "../../src/mount/probe-filesystem.js";
import { KeptControllers } from "../../src/kept-controllers.js";
import { StagedVolumes, type NodeContext } from "../../src/node-context.js";
import { FakeMounter } from "./fake-mounter.js";
import { FakeResizer } from "./fake-resizer.js";
import { readMountTable } from "./mount-table.js";
import { VirtualDeviceNodes, VirtualDisks } from "./virtual-devices.js";
import { registerNodeMetrics, registerStaleMountMetrics } from "../../src/node-metrics.js";
import { NodeService } from "../../src/node-service.js";
import { DeviceResolver } from "../../src/nvme/device-identity.js";
import { loadHostIdentity } from "../../src/nvme/host-identity.js";
import { NvmeCliInitiator } from "../../src/nvme/nvme-cli-initiator.js";
import { RootedSysfs } from "../../src/nvme/sysfs.js";
import { kubeletCsiPluginDir } from "../../src/startup-reconciliation.js";

/** A node under test: its own /etc (host identity), its own fake fabric, and a count of its connects. */
export interface TestHost {
  readonly node: NodeService;
  /** What the node service acts through, for background work built beside it (stale-mount watcher). */
  readonly ctx: NodeContext;
  readonly fabric: FakeFabric;
  /** This node's own registry, as its /metrics would show it. */
  readonly metrics: MetricsRegistry;
  connects: number;
  /** With virtual disks: the host's in-memory mounts and the resizer standing in for resize2fs/xfs_growfs. */
  readonly standIns: { readonly mounter: FakeMounter; readonly resizer: FakeResizer } | undefined;
}

export interface NodeRigOptions {
  readonly volume: string;
  readonly tempPrefix: string;
  /** Size of the exported disk, as RouterOS writes it (`64M`). */
  readonly diskSize: string;
  /** Where the hosts' kernels put the namespace's disk (default: native multipath). */
  readonly layout?: FabricLayout;
  /** Which namespace identifiers the RDS reports (default: a UUID stable across restarts). */
  readonly namespaceIds?: NamespaceIds;
  /** The hosts' kernels hold and fail I/O (FUSE gate) and reconnect or give up by themselves (FakeFabricOptions). */
  readonly kernel?: Pick<FakeFabricOptions, "gatedIo" | "kernelTimers">;
  /**
   * "loop" (default, root): the fabric's namespaces are loop devices and the node mounts for real.
   * "virtual" (no root): virtual disks (testkit namespace-disks.ts) and stand-ins for what needs the
   * kernel — FakeMounter, VirtualDeviceNodes, FakeResizer; nvme-cli (the fabric's), sysfs, blkid and
   * mkfs (on the export's file) are still the real programs and readers.
   */
  readonly devices?: BlockDevices;
}

/** How one host runs its tools, for tests that make a tool fail or hang. */
export interface TestHostOptions {
  /** Directories put before PATH for every program the host runs (wrappers of mount, blkid, mkfs, …). */
  readonly pathPrefix?: readonly string[];
  /** The nvme-cli the host runs instead of the fabric's shim (a wrapper around it). */
  readonly nvmeCli?: (shim: string) => Promise<string>;
  /** Deadline of each mount/umount, blkid, mkfs and nvme connect/disconnect run; default: the production ones (connect 20 s). */
  readonly toolTimeoutMs?: number;
}

/** ProcessExec with directories put before PATH: spawn looks programs up in the child's PATH. */
function withPathPrefix(exec: Exec, prefix: readonly string[]): Exec {
  if (prefix.length === 0) return exec;
  const PATH = [...prefix, process.env["PATH"] ?? ""].join(":");
  return { run: (file, args, options) => exec.run(file, args, { ...options, env: { PATH, ...options.env } }) };
}

const quiet = createLogger({ level: "error", component: "test", stream: new PassThrough().resume() });
const key = generateEd25519KeyPair();

/**
 * The node plugin's integration rig: a simulated RDS exporting one disk, and hosts that attach it through
 * the fake NVMe fabric onto real loop devices. Registers its own beforeEach/afterEach: every test starts
 * with a fresh RDS and ends with no mount, loop device or temp file left.
 */
export function useNodeRig(options: NodeRigOptions) {
  const nqn = `nqn.2000-02.com.mikrotik:${options.volume}`;
  const virtual = options.devices === "virtual";
  const hosts: TestHost[] = [];
  const state = { dir: "", sim: undefined as unknown as RdsSimulator, backingFile: "" };
  /** Where kubelet stages a filesystem volume: the rig's dir is the hosts' kubelet directory. */
  const stagingPathOf = (name: string): string => join(kubeletCsiPluginDir(state.dir), DEFAULT_DRIVER_NAME, name, "globalmount");

  const call = (): CallContext => ({
    requestId: "test",
    method: "test",
    signal: AbortSignal.timeout(60_000),
    metadata: {} as CallContext["metadata"],
    logger: quiet,
  });

  /** Runs a RouterOS command on the simulated RDS as an operator would; any output is a failure. */
  const routerOs = (command: string): Promise<void> => changeAsOperator(state.sim, key.private, command);

  const newHost = async (name: string, hostOptions: TestHostOptions = {}): Promise<TestHost> => {
    const identity = await loadHostIdentity(await mkdtemp(join(state.dir, `etc-${name}-`)));
    const fabric = await FakeFabric.create({
      simulatorUrl: state.sim.controlUrl,
      hostNqn: identity.hostNqn, hostId: identity.hostId,
      ...(options.layout !== undefined && { layout: options.layout }),
      ...(options.namespaceIds !== undefined && { namespaceIds: options.namespaceIds }),
      ...options.kernel,
      ...(virtual && { blockDevices: "virtual" as const }),
    });
    const exec = withPathPrefix(new ProcessExec(), hostOptions.pathPrefix ?? []);
    const sysfs = new RootedSysfs(fabric.sysfsRoot);
    const shim = await fabric.writeShim();
    const nvmeCli = (await hostOptions.nvmeCli?.(shim)) ?? shim;
    const timeoutMs = hostOptions.toolTimeoutMs;
    const real = new NvmeCliInitiator({ exec, nvmeCli, sysfs, connectTimeoutMs: timeoutMs ?? 20_000, disconnectTimeoutMs: timeoutMs });
    const disks = virtual ? new VirtualDisks(fabric, exec) : undefined;
    const fakeMounter = disks && new FakeMounter(disks);
    const standIns = disks && fakeMounter && { mounter: fakeMounter, resizer: new FakeResizer(disks, fakeMounter) };
    const deviceNodes = disks && fakeMounter ? new VirtualDeviceNodes(disks, fakeMounter) : undefined;
    const probe = new FilesystemProbe(exec, { timeoutMs, ...(deviceNodes && { deviceNodes }) });
    const metrics = new MetricsRegistry();
    const host: TestHost = { fabric, metrics, connects: 0, standIns, node: undefined as unknown as NodeService, ctx: undefined as unknown as NodeContext };
    const initiator = {
      connect: (...args: Parameters<NvmeCliInitiator["connect"]>) => {
        host.connects++;
        return real.connect(...args);
      },
      disconnect: real.disconnect.bind(real),
      controllers: real.controllers.bind(real),
    };
    (host as { ctx: NodeContext }).ctx = {
        nodeId: name,
        kubeletDir: state.dir,
        maxVolumesPerNode: 10,
        topology: { "topology.rds.csi.srvlab.io/rds": "rack1" },
        host: identity,
        initiator,
        resolver: new DeviceResolver(sysfs, fabric.devRoot, deviceNodes),
        sysfs,
        mounter: fakeMounter ?? new ExecMounter(exec, { unmountRetryDelayMs: 50, ...(timeoutMs !== undefined && { timeoutMs }) }),
        probe,
        formatter: new Formatter(exec, probe, { timeoutMs }),
        managedNqnPrefix: "nqn.2000-02.com.mikrotik:",
        locks: new OperationLocks({ label: "volume" }),
        staged: new StagedVolumes(),
        keptControllers: new KeptControllers(),
        namespaceTimeoutMs: 5_000,
        stageRecorder: registerNodeMetrics(metrics, sysfs, "nqn.2000-02.com.mikrotik:").stage,
        staleMounts: registerStaleMountMetrics(metrics),
      };
    (host as { node: NodeService }).node = new NodeService(host.ctx, { exec, nvmeCli, sizeTimeoutMs: 3_000, ...(standIns && { resizer: standIns.resizer }) });
    hosts.push(host);
    return host;
  };

  const fsCapability = (fsType = "ext4"): csi.VolumeCapability => ({
    mount: { fsType, mountFlags: [], volumeMountGroup: "" },
    accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER },
  });
  const blockCapability = (): csi.VolumeCapability => ({ block: {}, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });
  const publishContext = (): Record<string, string> => buildPublishContext({ address: "127.0.0.1", port: 4420, nqn });
  const volumeContext = { ctrlLossTmo: "60", reconnectDelay: "2", keepAliveTmo: "5" };
  const volumeId = options.volume;

  /** The mount table the hosts mount in: this machine's, or with virtual disks the hosts' FakeMounters'. */
  const mountTable = async (): Promise<MountInfoEntry[]> =>
    virtual ? (await Promise.all(hosts.map((host) => host.standIns!.mounter.mountTable()))).flat() : readMountTable();
  const mountsUnder = async (): Promise<string[]> =>
    (await mountTable()).map((mount) => mount.mountPoint).filter((path) => path.startsWith(`${state.dir}/`));

  beforeEach(async () => {
    state.dir = await mkdtemp(join(tmpdir(), options.tempPrefix));
    state.sim = await startSimulator({ stateDir: join(state.dir, "rds"), authorizedKeys: key.public, poolSize: "10G" });
    await routerOs(
      `/disk add type=file slot="${volumeId}" file-path="/raid10/vols/${volumeId}.img" file-size=${options.diskSize} nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${nqn}"`,
    );
    state.backingFile = state.sim.disks().find((disk) => disk.slot === volumeId)!.backingFile;
  }, 30_000);

  afterEach(async () => {
    for (const mountPoint of virtual ? [] : (await mountsUnder()).reverse()) {
      try {
        execFileSync("umount", [mountPoint]);
      } catch {
        execFileSync("umount", ["--lazy", mountPoint]);
      }
    }
    for (const host of hosts.splice(0)) await host.fabric.cleanup();
    await state.sim.stop();
    if (!virtual) expect(await loopsLeftOver(state.backingFile)).toEqual([]);
    await rm(state.dir, { recursive: true, force: true });
  }, 30_000);

  return {
    nqn,
    get dir(): string {
      return state.dir;
    },
    get sim(): RdsSimulator {
      return state.sim;
    },
    get backingFile(): string {
      return state.backingFile;
    },
    call,
    routerOs,
    newHost,
    fsCapability,
    blockCapability,
    publishContext,
    volumeContext,
    mountsUnder,
    stagingDir: async (name: string): Promise<string> => {
      const path = stagingPathOf(name);
      await mkdir(path, { recursive: true });
      return path;
    },
    stage: (host: TestHost, stagingPath: string, capability = fsCapability()) =>
      host.node.nodeStageVolume({ volumeId, publishContext: publishContext(), stagingTargetPath: stagingPath, volumeCapability: capability, secrets: {}, volumeContext }, call()),
    unstage: (host: TestHost, stagingPath: string) => host.node.nodeUnstageVolume({ volumeId, stagingTargetPath: stagingPath }, call()),
    publish: (host: TestHost, stagingPath: string, targetPath: string, capability = fsCapability(), readonly = false) =>
      host.node.nodePublishVolume(
        { volumeId, publishContext: publishContext(), stagingTargetPath: stagingPath, targetPath, volumeCapability: capability, readonly, secrets: {}, volumeContext },
        call(),
      ),
    unpublish: (host: TestHost, targetPath: string) => host.node.nodeUnpublishVolume({ volumeId, targetPath }, call()),
    /**
     * node-a with the volume staged and published (filesystem) and `kept.txt` holding `content`, synced
     * to the device (the fake fabric cannot keep the old device's page cache across a fault): where the
     * recovery tests start. `before` is the device it is on.
     */
    publishedWithFile: async (content: string) => {
      const a = await newHost("node-a");
      const staging = stagingPathOf("a");
      await mkdir(staging, { recursive: true });
      const target = join(state.dir, "pods", "a", "mount");
      await a.node.nodeStageVolume({ volumeId, publishContext: publishContext(), stagingTargetPath: staging, volumeCapability: fsCapability(), secrets: {}, volumeContext }, call());
      await a.node.nodePublishVolume(
        { volumeId, publishContext: publishContext(), stagingTargetPath: staging, targetPath: target, volumeCapability: fsCapability(), readonly: false, secrets: {}, volumeContext },
        call(),
      );
      await writeFile(join(target, "kept.txt"), content);
      execFileSync("sync", ["-f", target]);
      const before = (await a.ctx.resolver.resolve(nqn))!;
      return { a, staging, target, before };
    },
    /**
     * Keeps `path` in use until the returned release: a process whose working directory is there (the
     * kernel then refuses a plain unmount with EBUSY), or with virtual disks the FakeMounter's `busy`.
     */
    holdBusy: async (host: TestHost, path: string): Promise<() => Promise<void>> => {
      if (host.standIns !== undefined) {
        host.standIns.mounter.busy.add(path);
        return async () => void host.standIns!.mounter.busy.delete(path);
      }
      const holder = spawn("sleep", ["600"], { cwd: path, stdio: "ignore" });
      await once(holder, "spawn");
      return async () => {
        holder.kill("SIGKILL");
        if (holder.exitCode === null && holder.signalCode === null) await once(holder, "exit");
      };
    },
    stats: (host: TestHost, volumePath: string, stagingPath: string) => host.node.nodeGetVolumeStats({ volumeId, volumePath, stagingTargetPath: stagingPath }, call()),
    /** The top mount at `path`, from this process's mount table. */
    mountOf: async (path: string) => (await mountTable()).filter((m) => m.mountPoint === path).at(-1),
    /** What the volume's NQN resolves to on `host` right now, by identity. */
    resolve: (host: TestHost) => host.ctx.resolver.resolve(nqn),
    /** The value of one series (`name{labels}`) on `host`'s /metrics, or undefined. */
    metric: async (host: TestHost, series: string) => (await host.metrics.metrics()).split("\n").find((l) => l.startsWith(series + " "))?.split(" ")[1],
  };
}
