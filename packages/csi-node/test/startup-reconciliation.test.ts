import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger, MetricsRegistry, ProcessExec, type Exec, type ExecResult } from "@rds-csi/core";
import { ExecMounter } from "../src/mount/exec-mounter.js";
import { FakeFabric, loopsLeftOver, describeAsRoot } from "@rds-csi/testkit";
import { changeAsOperator, generateEd25519KeyPair, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { readMountTable } from "./support/mount-table.js";
import { registerNodeMetrics } from "../src/node-metrics.js";
import { NodeProbe } from "../src/node-probe.js";
import { DeviceResolver } from "../src/nvme/device-identity.js";
import { loadHostIdentity, type HostIdentity } from "../src/nvme/host-identity.js";
import { NvmeCliInitiator } from "../src/nvme/nvme-cli-initiator.js";
import { RootedSysfs } from "../src/nvme/sysfs.js";
import { writeStagingMetadata } from "../src/staging/staging-metadata.js";
import { decideMount, kubeletCsiPluginDir, mountPlaceOf, reconcileAtStartup, type MountEvidence, type StartupReconciliationOptions } from "../src/startup-reconciliation.js";

// Real loop devices and mounts through the fake fabric: root only.
const key = generateEd25519KeyPair();
const PREFIX = "nqn.2000-02.com.mikrotik:";
const CLAIMED = `${PREFIX}pvc-claimed`;
const ORPHAN = `${PREFIX}pvc-orphan`;
const MOUNTED = `${PREFIX}pvc-mounted`;
const FOREIGN = "nqn.2014-08.org.example:foreign";
const DRIVER = "rds.csi.srvlab.io";

function captureLogger() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  return { logger: createLogger({ level: "debug", component: "test", stream }), text: () => text };
}

describeAsRoot("start-up reconciliation over the fake fabric", () => {
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

  const rig = (command: string): Promise<void> => changeAsOperator(sim, key.private, command);

  const reconcile = (kubeletDir: string, logger = captureLogger().logger, overrides: Partial<StartupReconciliationOptions> = {}) =>
    reconcileAtStartup({
      sysfs, initiator, resolver, mounter: new ExecMounter(new ProcessExec(), { unmountRetryDelayMs: 50 }), managedNqnPrefix: PREFIX,
      kubeletDir, driverName: DRIVER, logger, ...overrides,
    });

  /** mkfs + mount of the namespace of `nqn` at `path`, as a stage would leave it. */
  const mountVolume = async (nqn: string, path: string): Promise<string> => {
    const device = (await resolver.resolve(nqn))!;
    execFileSync("mkfs.ext4", ["-q", device.devicePath]);
    await mkdir(path, { recursive: true });
    execFileSync("mount", [device.devicePath, path]);
    return device.majorMinor;
  };
  const stagingPathOf = (kubeletDir: string, hash: string, driver = DRIVER) => join(kubeletCsiPluginDir(kubeletDir), driver, hash, "globalmount");
  const mounted = async (path: string) => (await readMountTable()).some((m) => m.mountPoint === path);

  const connect = async (nqn: string) => {
    await initiator.connect({ address: "127.0.0.1", port: 4420, nqn, hostNqn: host.hostNqn, hostId: host.hostId, ctrlLossTmo: 60, reconnectDelay: 2, keepAliveTmo: 5 }, AbortSignal.timeout(20_000));
    await resolver.waitForNamespace(nqn, AbortSignal.timeout(20_000), 10_000); // the kernel's scan ends after `nvme connect`
  };

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
    for (const file of backingFiles.splice(0)) expect(await loopsLeftOver(file)).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it("disconnects the unclaimed controller of this driver; keeps the claimed, the mounted and the foreign one", async () => {
    for (const [, nqn] of disks) await connect(nqn);
    const kubeletDir = join(dir, "kubelet");
    // Filesystem staging path as kubelet makes it: <kubelet>/plugins/kubernetes.io/csi/<driver>/<hash>/globalmount
    const staging = stagingPathOf(kubeletDir, "0f1e2d");
    await mkdir(staging, { recursive: true });
    const claimed = (await resolver.resolve(CLAIMED))!;
    await writeStagingMetadata(staging, {
      volumeId: "pvc-claimed", nqn: CLAIMED, address: "127.0.0.1", port: 4420, hostNqn: host.hostNqn,
      mode: "filesystem", fsType: "ext4",
      device: { majorMinor: claimed.majorMinor, nsid: claimed.nsid, uuid: claimed.uuid ?? "" },
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
    const summary = await reconcile(kubeletDir, logger);

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
    const again = await reconcile(kubeletDir, logger);
    expect(again.disconnected).toEqual([]);
  }, 60_000);

  it("unmounts and disconnects nothing while a metadata file cannot be trusted", async () => {
    await connect(ORPHAN);
    const kubeletDir = join(dir, "kubelet");
    const parent = join(kubeletCsiPluginDir(kubeletDir), DRIVER, "abc");
    await mkdir(parent, { recursive: true });
    await writeFile(join(parent, `rds-csi-staging-${"0".repeat(64)}.json`), "{ torn");
    // An orphaned staging mount elsewhere: it would be cleaned up, but not while any metadata is unreadable.
    const orphan = stagingPathOf(kubeletDir, "0rphan");
    await mountVolume(ORPHAN, orphan);
    const summary = await reconcile(kubeletDir);
    expect(summary.disconnected).toEqual([]);
    expect(summary.unmounted).toEqual([]);
    expect(summary.invalidMetadata).toHaveLength(1);
    expect(await mounted(orphan)).toBe(true);
    expect((await initiator.controllers(ORPHAN)).map((c) => c.state)).toEqual(["live"]);
  }, 60_000);

  it("unmounts orphaned mounts of this driver (live or dead device) and disconnects; leaves claimed and foreign mounts alone", async () => {
    for (const [, nqn] of disks) await connect(nqn);
    const kubeletDir = join(dir, "kubelet");
    // Orphan: staged and published, then the metadata was lost (or the plugin died before writing it).
    const orphan = stagingPathOf(kubeletDir, "0rphan");
    await mountVolume(ORPHAN, orphan);
    const podTarget = join(kubeletDir, "pods", "pod-1", "volumes", "kubernetes.io~csi", "pv-orphan", "mount");
    await mkdir(podTarget, { recursive: true });
    execFileSync("mount", ["--bind", orphan, podTarget]);
    // Claimed: staged with metadata.
    const claimedPath = stagingPathOf(kubeletDir, "c1a1m");
    const claimedDevice = await mountVolume(CLAIMED, claimedPath);
    const claimed = (await resolver.resolve(CLAIMED))!;
    await writeStagingMetadata(claimedPath, {
      volumeId: "pvc-claimed", nqn: CLAIMED, address: "127.0.0.1", port: 4420, hostNqn: host.hostNqn, mode: "filesystem", fsType: "ext4",
      device: { majorMinor: claimedDevice, nsid: claimed.nsid, uuid: claimed.uuid ?? "" }, stagedAt: new Date().toISOString(),
    });
    // Foreign NQN mounted even at our staging place: not provably ours.
    const foreign = stagingPathOf(kubeletDir, "f0re1gn");
    await mountVolume(FOREIGN, foreign);
    // Dead: mounted at our staging place, then the controller went away; no metadata beside it.
    const dead = stagingPathOf(kubeletDir, "dead");
    await mountVolume(MOUNTED, dead);
    await fabric.disconnect(MOUNTED);
    expect(await resolver.resolve(MOUNTED)).toBeUndefined();

    const { logger, text } = captureLogger();
    const summary = await reconcile(kubeletDir, logger);

    expect([...summary.unmounted].sort()).toEqual([dead, orphan, podTarget].sort());
    expect(summary.unmounted.indexOf(podTarget)).toBeLessThan(summary.unmounted.indexOf(orphan)); // the pod's bind first
    expect(summary.keptMounts.map((k) => k.mountPoint).sort()).toEqual([claimedPath, foreign].sort());
    expect(summary).toMatchObject({ disconnected: [ORPHAN], foreign: [FOREIGN], errors: [], invalidMetadata: [] });
    for (const path of [orphan, podTarget, dead]) expect(await mounted(path)).toBe(false);
    for (const path of [claimedPath, foreign]) expect(await mounted(path)).toBe(true);
    expect(await initiator.controllers(ORPHAN)).toEqual([]);
    expect((await initiator.controllers(CLAIMED)).map((c) => c.state)).toEqual(["live"]);
    expect((await initiator.controllers(FOREIGN)).map((c) => c.state)).toEqual(["live"]);
    expect(text()).toContain("unmounted an orphaned mount of this driver");
    expect(text()).toMatch(/"unmounted":3/);

    const again = await reconcile(kubeletDir);
    expect(again).toMatchObject({ unmounted: [], disconnected: [], errors: [] });
  }, 90_000);

  it("keeps the controller of a raw block device bind-mounted onto a file though no metadata claims it; unmounts an unclaimed one at kubelet's block place", async () => {
    await connect(ORPHAN);
    await connect(MOUNTED);
    const kubeletDir = join(dir, "kubelet");
    await mkdir(kubeletCsiPluginDir(kubeletDir), { recursive: true });
    // A device node bound onto a file, as NodePublish of a block volume does. A VM opens it without
    // O_EXCL, so neither holders nor an exclusive open show the user: only the bind does.
    const inUse = join(dir, "vm-disk");
    await writeFile(inUse, "");
    execFileSync("mount", ["--bind", (await resolver.resolve(ORPHAN))!.devicePath, inUse]);
    const publish = join(kubeletCsiPluginDir(kubeletDir), "volumeDevices", "publish", "pv-mounted", "pod-1");
    await mkdir(dirname(publish), { recursive: true });
    await writeFile(publish, "");
    execFileSync("mount", ["--bind", (await resolver.resolve(MOUNTED))!.devicePath, publish]);

    const summary = await reconcile(kubeletDir);

    expect(summary).toMatchObject({ unmounted: [publish], disconnected: [MOUNTED], errors: [] });
    expect(summary.kept.find((k) => k.nqn === ORPHAN)?.reason).toContain(inUse);
    expect((await initiator.controllers(ORPHAN)).map((c) => c.state)).toEqual(["live"]);
    expect(await mounted(inUse)).toBe(true);
  }, 60_000);

  it("a volume whose NodeUnstage began and did not finish stays claimed: kubelet retries the unstage, reconciliation undoes nothing of it", async () => {
    await connect(CLAIMED);
    await connect(MOUNTED);
    const kubeletDir = join(dir, "kubelet");
    const metadataOf = async (slot: string, nqn: string, staging: string) => {
      const device = (await resolver.resolve(nqn))!;
      await writeStagingMetadata(staging, {
        volumeId: slot, nqn, address: "127.0.0.1", port: 4420, hostNqn: host.hostNqn, mode: "filesystem", fsType: "ext4",
        device: { majorMinor: device.majorMinor, nsid: device.nsid, uuid: device.uuid ?? "" }, stagedAt: new Date().toISOString(),
        unstagingSince: new Date().toISOString(),
      });
    };
    // Unmounted, then the disconnect failed.
    const unmounted = stagingPathOf(kubeletDir, "unm0unted");
    await mkdir(unmounted, { recursive: true });
    await metadataOf("pvc-claimed", CLAIMED, unmounted);
    // Marked, then the plugin died before the unmount.
    const stillMounted = stagingPathOf(kubeletDir, "m0unted");
    await mountVolume(MOUNTED, stillMounted);
    await metadataOf("pvc-mounted", MOUNTED, stillMounted);

    const summary = await reconcile(kubeletDir);

    expect(summary.claimed.map((c) => c.volumeId).sort()).toEqual(["pvc-claimed", "pvc-mounted"]);
    expect(summary).toMatchObject({ unmounted: [], disconnected: [], invalidMetadata: [], errors: [] });
    expect(await mounted(stillMounted)).toBe(true);
    expect((await initiator.controllers(CLAIMED)).map((c) => c.state)).toEqual(["live"]);
    expect((await initiator.controllers(MOUNTED)).map((c) => c.state)).toEqual(["live"]);
  }, 60_000);

  it("disconnects nothing when the kubelet's CSI plugin directory is missing (a wrong --kubelet-dir is not 'nothing staged')", async () => {
    await connect(ORPHAN);
    const summary = await reconcile(join(dir, "not-the-kubelet-dir"));
    expect(summary).toMatchObject({ unmounted: [], disconnected: [] });
    expect(summary.errors.join()).toContain("--kubelet-dir");
    expect((await initiator.controllers(ORPHAN)).map((c) => c.state)).toEqual(["live"]);
  }, 60_000);

  it("unmounts nothing when the mount table cannot be read", async () => {
    await connect(ORPHAN);
    const kubeletDir = join(dir, "kubelet");
    const orphan = stagingPathOf(kubeletDir, "0rphan");
    await mountVolume(ORPHAN, orphan);
    const unreadable = Object.assign(new ExecMounter(new ProcessExec()), { mountTable: () => Promise.reject(new Error("EIO")) });
    const summary = await reconcile(kubeletDir, undefined, { mounter: unreadable });
    expect(summary).toMatchObject({ unmounted: [], disconnected: [] });
    expect(summary.errors.join()).toContain("EIO");
    expect(await mounted(orphan)).toBe(true);
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

describe("which mounts start-up reconciliation may unmount", () => {
  const kubelet = "/var/lib/kubelet";
  const mount = (mountPoint: string, majorMinor: string, boundDevice: string | null = null) => ({ mountPoint, majorMinor, major: Number(majorMinor.split(":")[0]), boundDevice });
  const evidence: MountEvidence = {
    devices: { present: new Set(["259:1", "259:2", "8:0"]), managed: new Map([["259:1", `${PREFIX}pvc-a`], ["259:2", `${PREFIX}pvc-b`]]) },
    claims: [{ volumeId: "pvc-b", nqn: `${PREFIX}pvc-b`, majorMinor: "259:2" }, { volumeId: "pvc-c", nqn: `${PREFIX}pvc-c`, majorMinor: "259:9" }],
    metadataDirs: new Set([`${kubelet}/plugins/kubernetes.io/csi/${DRIVER}/h-meta`]),
    driverName: DRIVER,
  };
  const staging = (hash: string, driver = DRIVER) => `${kubelet}/plugins/kubernetes.io/csi/${driver}/${hash}/globalmount`;
  const decide = (path: string, majorMinor: string, boundDevice?: string | null) => decideMount(mount(path, majorMinor, boundDevice), mountPlaceOf(kubelet, path)!, evidence);
  const publish = `${kubelet}/plugins/kubernetes.io/csi/volumeDevices/publish/pv/u`;

  it("knows kubelet's CSI places and nothing else", () => {
    expect(mountPlaceOf(kubelet, staging("h"))).toEqual({ kind: "staging", driver: DRIVER });
    expect(mountPlaceOf(kubelet, `${kubelet}/pods/u/volumes/kubernetes.io~csi/pv/mount`)).toEqual({ kind: "pod" });
    expect(mountPlaceOf(kubelet, `${kubelet}/plugins/kubernetes.io/csi/volumeDevices/publish/pv/u`)).toEqual({ kind: "block" });
    for (const other of ["/mnt/data", kubelet, `${kubelet}/pods/u/volumes/kubernetes.io~empty-dir/x`, `${kubelet}/plugins/kubernetes.io/csi/${DRIVER}/h`, `${kubelet}-other/pods/u/volumes/kubernetes.io~csi/pv/mount`]) {
      expect(mountPlaceOf(kubelet, other)).toBeUndefined();
    }
  });

  it("unmounts an unclaimed managed namespace anywhere kubelet mounts, and a dead device only at our staging path without metadata", () => {
    expect(decide(staging("h"), "259:1")).toMatchObject({ unmount: true, deviceDead: false });
    expect(decide(`${kubelet}/pods/u/volumes/kubernetes.io~csi/pv/mount`, "259:1")).toMatchObject({ unmount: true, deviceDead: false });
    expect(decide(`${kubelet}/plugins/kubernetes.io/csi/volumeDevices/publish/pv/u`, "259:1")).toMatchObject({ unmount: true });
    expect(decide(staging("h"), "259:7")).toMatchObject({ unmount: true, deviceDead: true });
  });

  it("keeps claimed, foreign, virtual and unprovable mounts", () => {
    expect(decide(staging("h"), "259:2")).toMatchObject({ unmount: false, reason: expect.stringContaining("pvc-b") });
    expect(decide(staging("h"), "8:0")).toMatchObject({ unmount: false, reason: expect.stringContaining("not a namespace of this driver") });
    expect(decide(staging("h"), "0:52")).toMatchObject({ unmount: false });
    expect(decide(staging("h"), "259:9")).toMatchObject({ unmount: false, reason: expect.stringContaining("pvc-c") }); // dead but claimed: recovery's job
    expect(decide(staging("h-meta"), "259:7")).toMatchObject({ unmount: false, reason: expect.stringContaining("metadata sits beside it") });
    expect(decide(staging("h", "other.csi.example"), "259:7")).toMatchObject({ unmount: false });
    expect(decide(`${kubelet}/pods/u/volumes/kubernetes.io~csi/pv/mount`, "259:7")).toMatchObject({ unmount: false });
  });

  it("judges a bind-mounted device node (raw block target, 0:5 on devtmpfs) by the device it points to", () => {
    expect(decide(publish, "0:5", "259:1")).toMatchObject({ unmount: true, deviceDead: false });
    expect(decide(publish, "0:5", "259:2")).toMatchObject({ unmount: false, reason: expect.stringContaining("pvc-b") });
    expect(decide(publish, "0:5", "8:0")).toMatchObject({ unmount: false, reason: expect.stringContaining("not a namespace of this driver") });
    expect(decideMount({ ...mount(publish, "0:5"), boundDevice: undefined }, { kind: "block" }, evidence)).toMatchObject({ unmount: false, reason: expect.stringContaining("could not be stat'ed") });
  });
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
