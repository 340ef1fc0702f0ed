import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger, MetricsRegistry, ProcessExec, Ssh2Transport, type Exec, type ExecResult } from "@rds-csi/core";
import { FakeFabric, loopsOf } from "@rds-csi/testkit";
import { generateEd25519KeyPair, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { readMountTable } from "./node-context.js";
import { registerNodeMetrics } from "./node-metrics.js";
import { NodeProbe } from "./node-probe.js";
import { DeviceResolver } from "./nvme/device-identity.js";
import { loadHostIdentity, type HostIdentity } from "./nvme/host-identity.js";
import { NvmeCliInitiator } from "./nvme/nvme-cli-initiator.js";
import { RootedSysfs } from "./nvme/sysfs.js";
import { writeStagingMetadata } from "./staging/staging-metadata.js";
import { kubeletCsiPluginDir, reconcileAtStartup } from "./startup-reconciliation.js";

// Real loop devices and mounts through the fake fabric: root only.
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;
const key = generateEd25519KeyPair();
const PREFIX = "nqn.2000-02.com.mikrotik:";
const CLAIMED = `${PREFIX}pvc-claimed`;
const ORPHAN = `${PREFIX}pvc-orphan`;
const MOUNTED = `${PREFIX}pvc-mounted`;
const FOREIGN = "nqn.2014-08.org.example:foreign";

function captureLogger() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  return { logger: createLogger({ level: "debug", component: "test", stream }), text: () => text };
}

asRoot("start-up reconciliation over the fake fabric", () => {
  let dir: string;
  let sim: RdsSimulator;
  let fabric: FakeFabric;
  let host: HostIdentity;
  let sysfs: RootedSysfs;
  let initiator: NvmeCliInitiator;
  let resolver: DeviceResolver;
  let shim: string;
  const backingFiles: string[] = [];
  const disks: [slot: string, nqn: string][] = [["pvc-claimed", CLAIMED], ["pvc-orphan", ORPHAN], ["pvc-mounted", MOUNTED], ["foreign", FOREIGN]];

  const rig = async (command: string): Promise<void> => {
    const quiet = createLogger({ level: "error", component: "test", stream: new PassThrough().resume() });
    const transport = new Ssh2Transport({ host: "127.0.0.1", port: sim.port, username: "admin", auth: { privateKey: key.private }, hostKey: { fingerprint: sim.hostKeyFingerprint }, logger: quiet });
    transport.start();
    try {
      const out = (await transport.run(command, { signal: AbortSignal.timeout(20_000), timeoutMs: 10_000 })).stdout;
      if (out.trim() !== "") throw new Error(`${command}: ${out}`);
    } finally {
      await transport.close();
    }
  };

  const connect = (nqn: string) =>
    initiator.connect({ address: "127.0.0.1", port: 4420, nqn, hostNqn: host.hostNqn, hostId: host.hostId, ctrlLossTmo: 60, reconnectDelay: 2, keepAliveTmo: 5 }, AbortSignal.timeout(20_000));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "csi-node-reconcile-"));
    sim = await startSimulator({ stateDir: join(dir, "rds"), authorizedKeys: key.public, poolSize: "10G" });
    for (const [slot, nqn] of disks) {
      await rig(`/disk add type=file slot="${slot}" file-path="/raid10/vols/${slot}.img" file-size=32M nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${nqn}"`);
      backingFiles.push(sim.disks().find((d) => d.slot === slot)!.backingFile);
    }
    host = await loadHostIdentity(await mkdtemp(join(dir, "etc-")));
    fabric = await FakeFabric.create({ simulatorUrl: sim.controlUrl, hostNqn: host.hostNqn });
    sysfs = new RootedSysfs(fabric.sysfsRoot);
    shim = await fabric.writeShim();
    initiator = new NvmeCliInitiator({ exec: new ProcessExec(), nvmeCli: shim, sysfs, connectTimeoutMs: 20_000 });
    resolver = new DeviceResolver(sysfs, fabric.devRoot);
  }, 30_000);

  afterEach(async () => {
    for (const m of (await readMountTable()).filter((m) => m.mountPoint.startsWith(`${dir}/`)).reverse()) execFileSync("umount", ["--lazy", m.mountPoint]);
    await fabric.cleanup();
    await sim.stop();
    for (const file of backingFiles.splice(0)) expect(await loopsOf(file)).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it("disconnects the unclaimed controller of this driver; keeps the claimed, the mounted and the foreign one", async () => {
    for (const [, nqn] of disks) await connect(nqn);
    const kubeletDir = join(dir, "kubelet");
    // Filesystem staging path as kubelet makes it: <kubelet>/plugins/kubernetes.io/csi/<driver>/<hash>/globalmount
    const staging = join(kubeletCsiPluginDir(kubeletDir), "rds.csi.srvlab.io", "0f1e2d", "globalmount");
    await mkdir(staging, { recursive: true });
    const claimed = (await resolver.resolve(CLAIMED))!;
    await writeStagingMetadata(staging, {
      volumeId: "pvc-claimed", nqn: CLAIMED, address: "127.0.0.1", port: 4420, hostNqn: host.hostNqn,
      mode: "filesystem", fsType: "ext4",
      device: { majorMinor: claimed.majorMinor, nsid: claimed.nsid, uuid: claimed.uuid },
      stagedAt: new Date().toISOString(),
    });
    // A mount of an unclaimed volume (e.g. metadata lost): the device is in use, never disconnected.
    const mounted = (await resolver.resolve(MOUNTED))!;
    execFileSync("mkfs.ext4", ["-q", "-F", mounted.devicePath]);
    const mountPoint = join(dir, "mnt");
    await mkdir(mountPoint);
    execFileSync("mount", [mounted.devicePath, mountPoint]);

    const metrics = new MetricsRegistry();
    registerNodeMetrics(metrics, sysfs, PREFIX);
    expect(await metrics.metrics()).toMatch(/^rds_csi_node_nvme_controllers 3$/m);

    const { logger, text } = captureLogger();
    const summary = await reconcileAtStartup({ sysfs, initiator, resolver, managedNqnPrefix: PREFIX, metadataRoots: [kubeletCsiPluginDir(kubeletDir)], mountTable: () => readMountTable(), logger });

    expect(summary).toMatchObject({ claimed: [{ volumeId: "pvc-claimed", nqn: CLAIMED }], invalidMetadata: [], disconnected: [ORPHAN], foreign: [FOREIGN], errors: [], timedOut: false });
    expect(summary.kept.map((k) => k.nqn).sort()).toEqual([CLAIMED, MOUNTED]);
    expect(summary.kept.find((k) => k.nqn === MOUNTED)!.reason).toContain(mountPoint);
    expect(await initiator.controllers(ORPHAN)).toEqual([]);
    expect((await initiator.controllers(CLAIMED)).map((c) => c.state)).toEqual(["live"]);
    expect((await initiator.controllers(MOUNTED)).map((c) => c.state)).toEqual(["live"]);
    expect((await initiator.controllers(FOREIGN)).map((c) => c.state)).toEqual(["live"]);
    expect(text()).toContain("disconnected a controller no staged volume claims");
    expect(await metrics.metrics()).toMatch(/^rds_csi_node_nvme_controllers 2$/m);

    // Running again changes nothing.
    const again = await reconcileAtStartup({ sysfs, initiator, resolver, managedNqnPrefix: PREFIX, metadataRoots: [kubeletCsiPluginDir(kubeletDir)], mountTable: () => readMountTable(), logger });
    expect(again.disconnected).toEqual([]);
  }, 60_000);

  it("disconnects nothing while a metadata file cannot be trusted", async () => {
    await connect(ORPHAN);
    const kubeletDir = join(dir, "kubelet");
    const parent = join(kubeletCsiPluginDir(kubeletDir), "rds.csi.srvlab.io", "abc");
    await mkdir(parent, { recursive: true });
    await writeFile(join(parent, `rds-csi-staging-${"0".repeat(64)}.json`), "{ torn");
    const { logger } = captureLogger();
    const summary = await reconcileAtStartup({ sysfs, initiator, resolver, managedNqnPrefix: PREFIX, metadataRoots: [kubeletCsiPluginDir(kubeletDir)], mountTable: () => readMountTable(), logger });
    expect(summary.disconnected).toEqual([]);
    expect(summary.invalidMetadata).toHaveLength(1);
    expect((await initiator.controllers(ORPHAN)).map((c) => c.state)).toEqual(["live"]);
  }, 60_000);

  it("probe: ready with the shim, not ready with a missing nvme-cli or sysfs root", async () => {
    const exec = new ProcessExec();
    expect(await new NodeProbe({ exec, nvmeCli: shim, sysfsRoot: fabric.sysfsRoot }).check()).toEqual({ ok: true });
    const missing = await new NodeProbe({ exec, nvmeCli: join(dir, "no-such-nvme"), sysfsRoot: fabric.sysfsRoot }).check();
    expect(missing.ok).toBe(false);
    expect(missing.detail).toContain("no-such-nvme");
    const noSysfs = await new NodeProbe({ exec, nvmeCli: shim, sysfsRoot: join(dir, "no-sysfs") }).check();
    expect(noSysfs).toMatchObject({ ok: false, detail: expect.stringContaining("class/") });
  }, 30_000);
});

describe("NodeProbe caching", () => {
  it("runs nvme-cli at most once per cache period, with a deadline", async () => {
    const runs: { args: readonly string[]; timeoutMs: number }[] = [];
    let code = 0;
    const exec: Exec = {
      run: async (_file, args, options): Promise<ExecResult> => {
        runs.push({ args, timeoutMs: options.timeoutMs });
        return { code, signal: null, stdout: "", stderr: "", durationMs: 1 };
      },
    };
    let now = 1_000;
    const sysfsRoot = await mkdtemp(join(tmpdir(), "probe-sysfs-"));
    await mkdir(join(sysfsRoot, "class"));
    const local = new NodeProbe({ exec, nvmeCli: "nvme", sysfsRoot, cacheMs: 5_000, timeoutMs: 2_000, now: () => now });
    try {
      expect(await local.check()).toEqual({ ok: true });
      expect(await local.check()).toEqual({ ok: true });
      expect(runs).toEqual([{ args: ["version"], timeoutMs: 2_000 }]);
      code = 1;
      now += 5_000;
      expect(await local.check()).toMatchObject({ ok: false, detail: "nvme version exited 1" });
      expect(runs).toHaveLength(2);
    } finally {
      await rm(sysfsRoot, { recursive: true, force: true });
    }
  });
});
