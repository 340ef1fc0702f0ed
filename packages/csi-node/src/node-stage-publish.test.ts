import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import {
  buildPublishContext,
  createLogger,
  csi,
  FailedPreconditionError,
  OperationLocks,
  ProcessExec,
  Ssh2Transport,
  type CallContext,
} from "@rds-csi/core";
import { FakeFabric, loopsOf } from "@rds-csi/testkit";
import { generateEd25519KeyPair, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { ExecMounter } from "./mount/exec-mounter.js";
import { Formatter } from "./mount/format.js";
import { FilesystemProbe } from "./mount/probe-filesystem.js";
import { readMountTable, StagedVolumes } from "./node-context.js";
import { NodeService } from "./node-service.js";
import { DeviceResolver } from "./nvme/device-identity.js";
import { loadHostIdentity } from "./nvme/host-identity.js";
import { NvmeCliInitiator } from "./nvme/nvme-cli-initiator.js";
import { RootedSysfs } from "./nvme/sysfs.js";

// Real loop devices, mkfs and mounts through the fake fabric: root only.
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;
const key = generateEd25519KeyPair();
const VOLUME = "pvc-stage-1";
const NQN = `nqn.2000-02.com.mikrotik:${VOLUME}`;
const quiet = createLogger({ level: "error", component: "test", stream: new PassThrough().resume() });

interface Host {
  readonly node: NodeService;
  readonly fabric: FakeFabric;
  connects: number;
}

asRoot("NodeStage/Publish over the fake fabric with real ext4", () => {
  let dir: string;
  let sim: RdsSimulator;
  let backingFile: string;
  const hosts: Host[] = [];

  const call = (): CallContext => ({
    requestId: "test",
    method: "test",
    signal: AbortSignal.timeout(60_000),
    metadata: {} as CallContext["metadata"],
    logger: quiet,
  });

  const rig = async (command: string): Promise<void> => {
    const transport = new Ssh2Transport({ host: "127.0.0.1", port: sim.port, username: "admin", auth: { privateKey: key.private }, hostKey: { fingerprint: sim.hostKeyFingerprint }, logger: quiet });
    transport.start();
    try {
      const out = (await transport.run(command, { signal: AbortSignal.timeout(20_000), timeoutMs: 10_000 })).stdout;
      if (out.trim() !== "") throw new Error(`${command}: ${out}`);
    } finally {
      await transport.close();
    }
  };

  /** A node: its own /etc (host identity) and its own fake fabric state. */
  const newHost = async (name: string): Promise<Host> => {
    const identity = await loadHostIdentity(await mkdtemp(join(dir, `etc-${name}-`)));
    const fabric = await FakeFabric.create({ simulatorUrl: sim.controlUrl, hostNqn: identity.hostNqn });
    const exec = new ProcessExec();
    const sysfs = new RootedSysfs(fabric.sysfsRoot);
    const real = new NvmeCliInitiator({ exec, nvmeCli: await fabric.writeShim(), sysfs, connectTimeoutMs: 20_000 });
    const probe = new FilesystemProbe(exec);
    const host: Host = { fabric, connects: 0, node: undefined as unknown as NodeService };
    const initiator = {
      connect: (...args: Parameters<NvmeCliInitiator["connect"]>) => {
        host.connects++;
        return real.connect(...args);
      },
      disconnect: real.disconnect.bind(real),
      controllers: real.controllers.bind(real),
    };
    (host as { node: NodeService }).node = new NodeService({
      nodeId: name,
      maxVolumesPerNode: 10,
      topology: { "topology.rds.csi.srvlab.io/rds": "rack1" },
      host: identity,
      initiator,
      resolver: new DeviceResolver(sysfs, fabric.devRoot),
      sysfs,
      mounter: new ExecMounter(exec, { unmountRetryDelayMs: 50 }),
      probe,
      formatter: new Formatter(exec, probe),
      managedNqnPrefix: "nqn.2000-02.com.mikrotik:",
      locks: new OperationLocks({ label: "volume" }),
      staged: new StagedVolumes(),
      namespaceTimeoutMs: 5_000,
      mountTable: () => readMountTable(),
    });
    hosts.push(host);
    return host;
  };

  const fsCapability = (): csi.VolumeCapability => ({ mount: { fsType: "ext4", mountFlags: [], volumeMountGroup: "" }, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });
  const blockCapability = (): csi.VolumeCapability => ({ block: {}, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });
  const publishContext = (): Record<string, string> => buildPublishContext({ address: "127.0.0.1", port: 4420, nqn: NQN });
  const volumeContext = { ctrlLossTmo: "60", reconnectDelay: "2", keepAliveTmo: "5" };

  const stage = (host: Host, stagingPath: string, capability = fsCapability()) =>
    host.node.nodeStageVolume({ volumeId: VOLUME, publishContext: publishContext(), stagingTargetPath: stagingPath, volumeCapability: capability, secrets: {}, volumeContext }, call());
  const unstage = (host: Host, stagingPath: string) => host.node.nodeUnstageVolume({ volumeId: VOLUME, stagingTargetPath: stagingPath }, call());
  const publish = (host: Host, stagingPath: string, targetPath: string, capability = fsCapability(), readonly = false) =>
    host.node.nodePublishVolume({ volumeId: VOLUME, publishContext: publishContext(), stagingTargetPath: stagingPath, targetPath, volumeCapability: capability, readonly, secrets: {}, volumeContext }, call());
  const unpublish = (host: Host, targetPath: string) => host.node.nodeUnpublishVolume({ volumeId: VOLUME, targetPath }, call());

  const mountsUnder = async (): Promise<string[]> => (await readMountTable()).map((m) => m.mountPoint).filter((p) => p.startsWith(`${dir}/`));
  const stagingDir = async (name: string): Promise<string> => {
    const path = join(dir, name, "globalmount");
    await mkdir(path, { recursive: true });
    return path;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "csi-node-stage-"));
    sim = await startSimulator({ stateDir: join(dir, "rds"), authorizedKeys: key.public, poolSize: "10G" });
    await rig(`/disk add type=file slot="${VOLUME}" file-path="/raid10/vols/${VOLUME}.img" file-size=64M nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${NQN}"`);
    backingFile = sim.disks().find((d) => d.slot === VOLUME)!.backingFile;
  }, 30_000);

  afterEach(async () => {
    for (const mountPoint of (await mountsUnder()).reverse()) {
      try {
        execFileSync("umount", [mountPoint]);
      } catch {
        execFileSync("umount", ["--lazy", mountPoint]);
      }
    }
    for (const host of hosts.splice(0)) await host.fabric.cleanup();
    await sim.stop();
    expect(await loopsOf(backingFile)).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it("stage → publish → write → unpublish → unstage → stage on another host: data intact", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(dir, "pods", "a", "mount");

    expect(await stage(a, staging)).toEqual({});
    expect(await publish(a, staging, target)).toEqual({});
    await writeFile(join(target, "hello.txt"), "kept across nodes");
    expect(await unpublish(a, target)).toEqual({});
    await expect(stat(target)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await unstage(a, staging)).toEqual({});

    expect(await mountsUnder()).toEqual([]);
    expect(await loopsOf(backingFile)).toEqual([]);
    expect(await a.node.nodeGetInfo()).toEqual({ nodeId: "node-a", maxVolumesPerNode: 10n, accessibleTopology: { segments: { "topology.rds.csi.srvlab.io/rds": "rack1" } } });

    const b = await newHost("node-b");
    const stagingB = await stagingDir("b");
    const targetB = join(dir, "pods", "b", "mount");
    await stage(b, stagingB);
    expect(sim.connections(NQN)).toEqual([b.fabric.hostNqn]);
    await publish(b, stagingB, targetB, fsCapability(), true);
    expect(await readFile(join(targetB, "hello.txt"), "utf8")).toBe("kept across nodes");
    await expect(writeFile(join(targetB, "other.txt"), "x")).rejects.toMatchObject({ code: "EROFS" });
    await unpublish(b, targetB);
    await unstage(b, stagingB);
    expect(await mountsUnder()).toEqual([]);
  }, 60_000);

  it("a repeated stage is OK without a second connect; unstage twice is OK", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging);
    await stage(a, staging);
    expect(a.connects).toBe(1);
    expect((await mountsUnder()).filter((p) => p === staging)).toHaveLength(1);
    expect(await unstage(a, staging)).toEqual({});
    expect(await unstage(a, staging)).toEqual({});
    expect(await loopsOf(backingFile)).toEqual([]);
  }, 60_000);

  it("block mode: stage + publish, then read and write the device through the target", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(dir, "pods", "a", "block", VOLUME);
    await stage(a, staging, blockCapability());
    await publish(a, staging, target, blockCapability());
    await publish(a, staging, target, blockCapability()); // existing correct target → OK, not stacked
    expect((await mountsUnder()).filter((p) => p === target)).toHaveLength(1);
    expect((await stat(target)).isBlockDevice()).toBe(true);

    const pattern = Buffer.alloc(4096, 0x5a);
    const handle = await open(target, "r+");
    try {
      await handle.write(pattern, 0, pattern.length, 1024 * 1024);
      await handle.sync();
      const back = Buffer.alloc(4096);
      await handle.read(back, 0, back.length, 1024 * 1024);
      expect(back.equals(pattern)).toBe(true);
    } finally {
      await handle.close();
    }
    const onDisk = Buffer.alloc(4096);
    const file = await open(backingFile, "r");
    try {
      await file.read(onDisk, 0, onDisk.length, 1024 * 1024);
    } finally {
      await file.close();
    }
    expect(onDisk.equals(pattern)).toBe(true);

    await unpublish(a, target);
    await expect(stat(target)).rejects.toMatchObject({ code: "ENOENT" });
    await unstage(a, staging);
    expect(await loopsOf(backingFile)).toEqual([]);
  }, 60_000);

  it("publish before stage is FAILED_PRECONDITION; unpublish of a missing target is OK", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(dir, "pods", "a", "mount");
    await expect(publish(a, staging, target)).rejects.toThrow(FailedPreconditionError);
    expect(await unpublish(a, target)).toEqual({});
    expect(a.connects).toBe(0);
  });

  it("advertises STAGE_UNSTAGE_VOLUME", async () => {
    const a = await newHost("node-a");
    const { capabilities } = await a.node.nodeGetCapabilities();
    expect(capabilities).toContainEqual({ rpc: { type: csi.NodeServiceCapability_RPC_Type.STAGE_UNSTAGE_VOLUME } });
  });
});
