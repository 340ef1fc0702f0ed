import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { generateEd25519KeyPair, operatorLogin, runAsOperator, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
  UnavailableError,
} from "../../src/errors.js";
import { createLogger } from "../../src/observability/logger.js";
import { MetricsRegistry } from "../../src/observability/metrics.js";
import { VolumeLayout } from "../../src/volume/volume-layout.js";
import { RouterOsRdsClient } from "../../src/routeros/routeros-rds-client.js";
import { Ssh2Transport } from "../../src/routeros/ssh2-transport.js";

const GiB = 1024n ** 3n;
const layout = new VolumeLayout({ basePath: "/raid10/csi", nqnPrefix: "nqn.2000-02.com.mikrotik" });
const vol = (n: number): string => `pvc-00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const snap = (n: number): string => `snap-00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

interface Rig {
  sim: RdsSimulator;
  client: RouterOsRdsClient;
  transport: Ssh2Transport;
  metrics: MetricsRegistry;
}

let stateDir: string;
const stops: Array<() => Promise<void>> = [];
const key = generateEd25519KeyPair();

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "rds-csi-client-"));
});

afterEach(async () => {
  while (stops.length > 0) await stops.pop()!();
  await rm(stateDir, { recursive: true, force: true });
});

async function rig(options: { poolSize?: string; timeouts?: { readMs?: number; mutateMs?: number }; port?: number } = {}): Promise<Rig> {
  const sim = await startSimulator({
    stateDir,
    authorizedKeys: key.public,
    poolSize: options.poolSize ?? "100G",
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  stops.push(() => sim.stop());
  const logger = createLogger({ level: "error", component: "test", stream: new PassThrough().resume() });
  const metrics = new MetricsRegistry();
  const transport = new Ssh2Transport({
    ...operatorLogin(sim, key.private),
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    logger,
    metrics,
  });
  transport.start();
  stops.push(() => transport.close());
  const client = new RouterOsRdsClient({
    transport,
    layout,
    copyStrategy: { name: "disk-copy-from", trust: "unverified" },
    logger,
    metrics,
    retry: { initialDelayMs: 20, maxDelayMs: 200 },
    copyWatch: { intervalMs: 50, settleMs: 400 },
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
  });
  return { sim, client, transport, metrics };
}

const signal = (): AbortSignal => AbortSignal.timeout(20_000);
const mutations = (sim: RdsSimulator, verb: string): number =>
  sim.commandLog().filter((entry) => entry.command.startsWith(verb)).length;

describe("RouterOsRdsClient against the simulator over SSH", () => {
  it("creates a volume with its exact size, export and file, and reads it back", async () => {
    const { sim, client } = await rig();
    const size = 10n * GiB + 4096n;
    const volume = await client.createVolume({ id: vol(1), sizeBytes: size, port: 4420 }, signal());
    expect(volume).toEqual({
      id: vol(1),
      filePath: `/raid10/csi/${vol(1)}.img`,
      sizeBytes: size,
      nqn: `nqn.2000-02.com.mikrotik:${vol(1)}`,
      port: 4420,
      exported: true,
      allowedHosts: [],
    });
    const [disk] = sim.disks();
    expect((await stat(disk!.backingFile)).size).toBe(Number(size));
    expect(await client.getVolume(vol(1), signal())).toEqual(volume);
  });

  it("answers a repeated create with the same volume and no second disk", async () => {
    const { sim, client } = await rig();
    const spec = { id: vol(2), sizeBytes: GiB, port: 4420 };
    const first = await client.createVolume(spec, signal());
    expect(await client.createVolume(spec, signal())).toEqual(first);
    expect(sim.disks()).toHaveLength(1);
    expect(mutations(sim, "/disk add")).toBe(1);
  });

  it("sends its mutations and pool readings ahead of the look-ups waiting for a channel, so the RDS's one-at-a-time queue is fed", async () => {
    const { sim, client } = await rig();
    // Each read holds one of the transport's 4 channels for 40 ms: 16 look-ups at once go in 4 waves.
    await sim.updateSettings({ latency: { readMs: 40 } });
    const lookUps = Array.from({ length: 16 }, (_, i) => client.getVolume(vol(100 + i), signal()));
    const create = client.createVolume({ id: vol(99), sizeBytes: GiB, port: 4420 }, signal(), { knownAbsent: true });
    const pool = client.capacity(signal());
    await Promise.all([...lookUps, create, pool]);
    const log = sim.commandLog();
    const arrivalOf = (part: string): number => Date.parse(log.find((entry) => entry.command.includes(part))!.timestamp);
    const lookUpsAfter = (at: number): number =>
      log.filter((entry) => entry.command.includes("where slot=") && !entry.command.includes(vol(99)) && Date.parse(entry.timestamp) > at).length;
    // In arrival order, both would have come after all 16 look-ups; ahead of them, with the second wave.
    expect(lookUpsAfter(arrivalOf("/disk add"))).toBeGreaterThanOrEqual(8);
    expect(lookUpsAfter(arrivalOf("where mount-point="))).toBeGreaterThanOrEqual(8);
  });

  it("skips its own look-up when the caller knows the slot is free, and still settles a slot taken since", async () => {
    const { sim, client } = await rig();
    const spec = { id: vol(40), sizeBytes: GiB, port: 4420 };
    sim.clearCommandLog();
    const created = await client.createVolume(spec, signal(), { knownAbsent: true });
    expect(sim.commandLog().map((entry) => entry.command.split(" ").slice(0, 2).join(" "))).toEqual(["/disk add", "/disk print"]);
    // Taken since the caller looked: the RDS refuses the add, and the slot read back decides.
    expect(await client.createVolume(spec, signal(), { knownAbsent: true })).toEqual(created);
    await expect(client.createVolume({ ...spec, sizeBytes: 2n * GiB }, signal(), { knownAbsent: true })).rejects.toThrow(AlreadyExistsError);
    expect(sim.disks().map((disk) => disk.size)).toEqual([Number(GiB)]);
  });

  it("refuses the same id with another size or port, changing nothing", async () => {
    const { sim, client } = await rig();
    await client.createVolume({ id: vol(3), sizeBytes: GiB, port: 4420 }, signal());
    await expect(client.createVolume({ id: vol(3), sizeBytes: 2n * GiB, port: 4420 }, signal())).rejects.toThrow(AlreadyExistsError);
    await expect(client.createVolume({ id: vol(3), sizeBytes: GiB, port: 4421 }, signal())).rejects.toThrow(/port 4420/);
    expect(sim.disks().map((disk) => disk.size)).toEqual([Number(GiB)]);
  });

  it("converges to exactly one disk when the reply of a create is lost", async () => {
    const { sim, client } = await rig();
    sim.faults.dropConnection({ when: "after", count: 1, match: { contains: "/disk add" } });
    const volume = await client.createVolume({ id: vol(4), sizeBytes: GiB, port: 4420 }, signal());
    expect(volume.sizeBytes).toBe(GiB);
    expect(sim.disks().map((disk) => disk.slot)).toEqual([vol(4)]);
    // The add ran once on the RDS: the lost reply was settled by reading the state back, not by a second add.
    expect(sim.commandLog().filter((e) => e.command.startsWith("/disk add")).map((e) => e.outcome)).toEqual(["dropped-after"]);
  });

  it("sends a create again when the connection dropped before the RDS ran it", async () => {
    const { sim, client } = await rig();
    sim.faults.dropConnection({ when: "before", count: 1, match: { contains: "/disk add" } });
    await client.createVolume({ id: vol(5), sizeBytes: GiB, port: 4420 }, signal());
    expect(sim.commandLog().filter((e) => e.command.startsWith("/disk add")).map((e) => e.outcome)).toEqual(["dropped-before", "ok"]);
    expect(sim.disks()).toHaveLength(1);
  });

  it("reports a full pool as ResourceExhausted and does not retry it", async () => {
    const { sim, client } = await rig({ poolSize: "2G" });
    await expect(client.createVolume({ id: vol(6), sizeBytes: 3n * GiB, port: 4420 }, signal())).rejects.toThrow(ResourceExhaustedError);
    sim.faults.setDiskFull(true);
    await expect(client.createVolume({ id: vol(7), sizeBytes: GiB, port: 4420 }, signal())).rejects.toThrow(ResourceExhaustedError);
    expect(mutations(sim, "/disk add")).toBe(2);
    expect(sim.disks()).toHaveLength(0);
  });

  it("refuses to replace a backing file that exists without a disk", async () => {
    const { sim, client } = await rig();
    await client.createVolume({ id: vol(8), sizeBytes: GiB, port: 4420 }, signal());
    // A half-finished delete or a disk removed by hand: the disk item is gone, its file (with data) stays.
    expect(await runAsOperator(sim, key.private, `/disk remove [find slot="${vol(8)}"]`)).toBe("");
    await expect(client.createVolume({ id: vol(8), sizeBytes: GiB, port: 4420 }, signal())).rejects.toThrow(
      `backing file /raid10/csi/${vol(8)}.img already exists on the RDS without a disk`,
    );
    expect(sim.files().some((file) => file.name.endsWith(`${vol(8)}.img`))).toBe(true);
  });

  it("deletes the disk and its file, and succeeds for what is already gone", async () => {
    const { sim, client } = await rig();
    await client.createVolume({ id: vol(9), sizeBytes: GiB, port: 4420 }, signal());
    const backing = sim.disks()[0]!.backingFile;
    await client.deleteVolume(vol(9), signal());
    expect(sim.disks()).toHaveLength(0);
    expect(sim.files().filter((file) => file.name.endsWith(".img"))).toHaveLength(0);
    await expect(stat(backing)).rejects.toMatchObject({ code: "ENOENT" });
    await client.deleteVolume(vol(9), signal());
    expect(await client.getVolume(vol(9), signal())).toBeUndefined();
  });

  it("never deletes a disk it does not own, nor a file on its path that some disk uses", async () => {
    const { sim, client } = await rig();
    await runAsOperator(sim, key.private, '/disk add type=file slot="pvc-foreign" file-path="/raid10/other/pvc-foreign.img" file-size=1M');
    // For CSI the volume does not exist: the delete answers as for a deleted one and touches nothing.
    await client.deleteVolume("pvc-foreign", signal());
    await runAsOperator(sim, key.private, `/disk add type=file slot="operator-disk" file-path="/raid10/csi/${vol(32)}.img" file-size=1M`);
    await client.deleteVolume(vol(32), signal());
    expect(sim.disks().map((disk) => disk.slot)).toEqual(["pvc-foreign", "operator-disk"]);
    expect(sim.files().filter((file) => file.name.endsWith(".img"))).toHaveLength(2);
    expect(await client.listVolumes(signal())).toEqual([]);
  });

  it("lists only this driver's volumes and snapshots", async () => {
    const { sim, client } = await rig();
    await client.createVolume({ id: vol(10), sizeBytes: GiB, port: 4420 }, signal());
    await client.createVolume({ id: vol(11), sizeBytes: 2n * GiB, port: 4421 }, signal());
    await client.createSnapshot({ id: snap(1), sourceVolumeId: vol(10) }, signal());
    await runAsOperator(sim, key.private, '/disk add type=file slot="vm-disk" file-path="/raid10/csi/vm-disk.img" file-size=1M');
    await runAsOperator(sim, key.private, '/disk add type=file slot="pvc-elsewhere" file-path="/raid10/csi-old/pvc-elsewhere.img" file-size=1M');
    expect((await client.listVolumes(signal())).map((v) => [v.id, v.sizeBytes, v.port])).toEqual([
      [vol(10), GiB, 4420],
      [vol(11), 2n * GiB, 4421],
    ]);
    expect((await client.listSnapshots(signal())).map((s) => s.id)).toEqual([snap(1)]);
  });

  it("grows a volume, never shrinks it, and reads the size back", async () => {
    const { sim, client } = await rig();
    await client.createVolume({ id: vol(12), sizeBytes: GiB, port: 4420 }, signal());
    expect((await client.resizeVolume(vol(12), 3n * GiB + 512n, signal())).sizeBytes).toBe(3n * GiB + 512n);
    expect((await client.resizeVolume(vol(12), 2n * GiB, signal())).sizeBytes).toBe(3n * GiB + 512n);
    expect(mutations(sim, "/disk set")).toBe(1);
    expect((await stat(sim.disks()[0]!.backingFile)).size).toBe(Number(3n * GiB + 512n));
    await expect(client.resizeVolume(vol(99), GiB, signal())).rejects.toThrow(NotFoundError);
  });

  it("reports the pool's capacity from its exact byte fields", async () => {
    const { client } = await rig({ poolSize: "100G" });
    await client.createVolume({ id: vol(13), sizeBytes: 10n * GiB, port: 4420 }, signal());
    expect(await client.capacity(signal())).toEqual({ totalBytes: 100n * GiB, freeBytes: 90n * GiB });
  });

  it("records a snapshot's source, size and time on the RDS and answers repeats by name", async () => {
    const { client } = await rig();
    await client.createVolume({ id: vol(14), sizeBytes: 2n * GiB, port: 4420 }, signal());
    const snapshot = await client.createSnapshot({ id: snap(2), sourceVolumeId: vol(14) }, signal());
    expect(snapshot).toMatchObject({ id: snap(2), sizeBytes: 2n * GiB, sourceVolumeId: vol(14), strategy: "disk-copy-from" });
    expect(snapshot.createdAt).toBeInstanceOf(Date);
    // The metadata comes back from the RDS's own listing, through a comment wrapped at 80 columns.
    expect(await client.getSnapshot(snap(2), signal())).toEqual(snapshot);
    expect(await client.createSnapshot({ id: snap(2), sourceVolumeId: vol(14) }, signal())).toEqual(snapshot);
    await client.createVolume({ id: vol(15), sizeBytes: GiB, port: 4420 }, signal());
    await expect(client.createSnapshot({ id: snap(2), sourceVolumeId: vol(15) }, signal())).rejects.toThrow(AlreadyExistsError);
    await expect(client.createSnapshot({ id: snap(3), sourceVolumeId: vol(98) }, signal())).rejects.toThrow(NotFoundError);
    await client.deleteSnapshot(snap(2), signal());
    await client.deleteSnapshot(snap(2), signal());
    expect(await client.getSnapshot(snap(2), signal())).toBeUndefined();
  });

  it("restores a snapshot into a new exported volume and refuses a smaller one", async () => {
    const { sim, client } = await rig();
    await client.createVolume({ id: vol(16), sizeBytes: 2n * GiB, port: 4420 }, signal());
    await client.createSnapshot({ id: snap(4), sourceVolumeId: vol(16) }, signal());
    const restored = await client.copyVolume({ id: vol(17), sourceId: snap(4), sizeBytes: 3n * GiB, port: 4420 }, signal());
    expect(restored).toMatchObject({ id: vol(17), sizeBytes: 3n * GiB, exported: true });
    await expect(client.copyVolume({ id: vol(18), sourceId: snap(4), sizeBytes: GiB, port: 4420 }, signal())).rejects.toThrow(InvalidArgumentError);
    await expect(client.copyVolume({ id: vol(19), sourceId: snap(97), sizeBytes: GiB, port: 4420 }, signal())).rejects.toThrow(NotFoundError);
    expect(sim.disks().map((disk) => disk.slot).sort()).toEqual([vol(16), vol(17), snap(4)].sort());
  });

  it("copies data only as far as the simulator's copy-from mode says", async () => {
    const { sim, client } = await rig();
    await client.createVolume({ id: vol(20), sizeBytes: 1024n * 1024n, port: 4420 }, signal());
    const source = sim.disks()[0]!.backingFile;
    const { writeFile } = await import("node:fs/promises");
    await writeFile(source, Buffer.alloc(4096, 0xab), { flag: "r+" });
    await sim.updateSettings({ copyFrom: "settings-only" });
    await client.copyVolume({ id: vol(21), sourceId: vol(20), sizeBytes: 1024n * 1024n, port: 4420 }, signal());
    await sim.updateSettings({ copyFrom: "data" });
    await client.copyVolume({ id: vol(22), sourceId: vol(20), sizeBytes: 1024n * 1024n, port: 4420 }, signal());
    const fileOf = (slot: string): string => sim.disks().find((disk) => disk.slot === slot)!.backingFile;
    expect((await readFile(fileOf(vol(21)))).subarray(0, 4096).every((byte) => byte === 0)).toBe(true);
    expect((await readFile(fileOf(vol(22)))).subarray(0, 4096).every((byte) => byte === 0xab)).toBe(true);
  });

  it("never returns a copy before its data is complete, however the RDS carries out copy-from", async () => {
    const { sim, client } = await rig();
    const MiB = 1024n * 1024n;
    await client.createVolume({ id: vol(36), sizeBytes: 4n * MiB, port: 4420 }, signal());
    const { writeFile } = await import("node:fs/promises");
    const pattern = Buffer.alloc(Number(4n * MiB), 0xcd);
    await writeFile(sim.disks()[0]!.backingFile, pattern, { flag: "r+" });
    const contentOf = async (id: string): Promise<Buffer> => readFile(sim.disks().find((disk) => disk.slot === id)!.backingFile);

    await sim.updateSettings({ copyFrom: "data-in-background" });
    const pending = client.copyVolume({ id: vol(37), sourceId: vol(36), sizeBytes: 6n * MiB, port: 4420 }, signal());
    // Meanwhile the disk is listed but not yet a volume to serve (the simulator's copy takes 8 steps of 100 ms).
    while (!sim.disks().some((disk) => disk.slot === vol(37))) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await client.getVolume(vol(37), signal())).toMatchObject({ copyInProgress: true });
    const background = await pending;
    expect(background).toMatchObject({ sizeBytes: 6n * MiB, copy: { background: true, sizeIgnored: false } });
    expect(background.copyInProgress).toBeUndefined();
    expect((await contentOf(vol(37))).subarray(0, Number(4n * MiB)).equals(pattern)).toBe(true);

    await sim.updateSettings({ copyFrom: "data-ignoring-size" });
    const ignored = await client.copyVolume({ id: vol(38), sourceId: vol(36), sizeBytes: 6n * MiB, port: 4420 }, signal());
    expect(ignored).toMatchObject({ sizeBytes: 6n * MiB, copy: { background: false, sizeIgnored: true } });
    expect(sim.disks().find((disk) => disk.slot === vol(38))!.size).toBe(Number(6n * MiB));
    expect((await contentOf(vol(38))).subarray(0, Number(4n * MiB)).equals(pattern)).toBe(true);

    await sim.updateSettings({ copyFrom: "data" });
    expect(await client.copyVolume({ id: vol(39), sourceId: vol(36), sizeBytes: 6n * MiB, port: 4420 }, signal())).toMatchObject({
      copy: { background: false, sizeIgnored: false },
    });
  });

  it("a retried restore waits for a copy still running instead of serving it or calling it a conflict", async () => {
    const { sim, client } = await rig();
    const MiB = 1024n * 1024n;
    await client.createVolume({ id: vol(40), sizeBytes: 4n * MiB, port: 4420 }, signal());
    await sim.updateSettings({ copyFrom: "data-in-background" });
    const spec = { id: vol(41), sourceId: vol(40), sizeBytes: 4n * MiB, port: 4420 };
    // The first caller gives up once the disk is listed, while the copy is still running.
    const giveUp = new AbortController();
    const first = client.copyVolume(spec, giveUp.signal);
    while (!sim.disks().some((disk) => disk.slot === vol(41))) await new Promise((resolve) => setTimeout(resolve, 10));
    giveUp.abort(new Error("caller gave up"));
    await expect(first).rejects.toThrow("caller gave up");
    const snapshotOfCopy = client.createSnapshot({ id: snap(5), sourceVolumeId: vol(41) }, signal());
    await expect(snapshotOfCopy).rejects.toThrow(/still being copied/);
    expect(await client.copyVolume(spec, signal())).toMatchObject({ id: vol(41), sizeBytes: 4n * MiB });
    expect(sim.commandLog().filter((entry) => entry.command.startsWith("/disk add") && entry.command.includes(vol(41)))).toHaveLength(1);
  });

  it("sets and clears the hosts an export admits, reading them back", async () => {
    const { sim, client } = await rig();
    await client.createVolume({ id: vol(23), sizeBytes: GiB, port: 4420 }, signal());
    const hosts = ["nqn.2014-08.org.nvmexpress:uuid:2", "nqn.2014-08.org.nvmexpress:uuid:1"];
    expect((await client.setAllowedHosts(vol(23), hosts, signal())).allowedHosts).toEqual([...hosts].sort());
    expect(sim.disks()[0]!.allowedHosts).toEqual([...hosts].sort());
    expect((await client.setAllowedHosts(vol(23), [], signal())).allowedHosts).toEqual([]);
  });

  it("lists the files under the base path that no disk uses, with the id their name carries", async () => {
    const { sim, client } = await rig();
    expect(await client.listOrphanFiles(signal())).toEqual([]);
    await client.createVolume({ id: vol(24), sizeBytes: GiB, port: 4420 }, signal());
    await client.createVolume({ id: vol(33), sizeBytes: GiB, port: 4420 }, signal());
    await runAsOperator(sim, key.private, `/disk remove [find slot="${vol(24)}"]`);
    // An operator's disk on a file under the base path keeps it; a file of another name is reported without an id.
    await runAsOperator(sim, key.private, '/disk add type=file slot="vm-1" file-path="/raid10/csi/vm-1.img" file-size=1M');
    await runAsOperator(sim, key.private, '/disk add type=file slot="vm-2" file-path="/raid10/csi/vm-2.img" file-size=1M');
    await runAsOperator(sim, key.private, '/disk remove [find slot="vm-2"]');
    await runAsOperator(sim, key.private, '/disk add type=file slot="elsewhere" file-path="/raid10/csi-old/pvc-x.img" file-size=1M');
    await runAsOperator(sim, key.private, '/disk remove [find slot="elsewhere"]');
    expect(await client.listOrphanFiles(signal())).toEqual([
      // RouterOS 7 prints file sizes rounded (`size=1024.0MiB`): read as approximate, never exact.
      { path: `/raid10/csi/${vol(24)}.img`, id: vol(24), approximateSizeBytes: GiB },
      { path: "/raid10/csi/vm-2.img", approximateSizeBytes: 1024n * 1024n },
    ]);
  });

  it("answers FailedPrecondition naming the live sessions when the RDS refuses a busy disk, and deletes once they are gone", async () => {
    const { sim, client } = await rig();
    await sim.updateSettings({ diskBusy: "while-connected" });
    const volume = await client.createVolume({ id: vol(35), sizeBytes: GiB, port: 4420 }, signal());
    sim.connectHost(volume.nqn, "nqn.2014-08.org.nvmexpress:uuid:node-a");
    const resize = client.resizeVolume(vol(35), 2n * GiB, signal());
    await expect(resize).rejects.toThrow(FailedPreconditionError);
    await expect(resize).rejects.toThrow(`the RDS refuses to grow disk ${vol(35)} while NVMe/TCP sessions to it are live (RouterOS /disk set failed: failure: disk is busy)`);
    await expect(client.deleteVolume(vol(35), signal())).rejects.toThrow(/refuses to remove disk .* while NVMe\/TCP sessions to it are live/);
    expect(sim.disks().map((disk) => [disk.slot, disk.size])).toEqual([[vol(35), Number(GiB)]]);
    sim.disconnectHost(volume.nqn, "nqn.2014-08.org.nvmexpress:uuid:node-a");
    await client.deleteVolume(vol(35), signal());
    expect(sim.disks()).toEqual([]);
  });

  it("a retried delete removes the file a delete stopped before removing", async () => {
    const { sim, client } = await rig();
    await client.createVolume({ id: vol(34), sizeBytes: GiB, port: 4420 }, signal());
    await runAsOperator(sim, key.private, `/disk remove [find slot="${vol(34)}"]`);
    await client.deleteVolume(vol(34), signal());
    expect(sim.files().filter((file) => file.name.endsWith(".img"))).toEqual([]);
    expect(await client.listOrphanFiles(signal())).toEqual([]);
  });

  it("rides out an RDS restart: calls made meanwhile retry through the reconnect", async () => {
    const { sim, client, transport } = await rig();
    await client.createVolume({ id: vol(25), sizeBytes: GiB, port: 4420 }, signal());
    await sim.restart();
    expect(await client.getVolume(vol(25), signal())).toMatchObject({ id: vol(25) });
    expect(transport.state).toBe("connected");
    await client.createVolume({ id: vol(26), sizeBytes: GiB, port: 4420 }, signal());
    expect(sim.disks()).toHaveLength(2);
  });

  it("fails fast with Unavailable while the RDS is down, and works again once it is back", async () => {
    const { sim, client, transport } = await rig();
    await client.createVolume({ id: vol(30), sizeBytes: GiB, port: 4420 }, signal());
    await sim.restart({ refuseConnectionsMs: 2_000 });
    // Not a timeout: the call's own 20 s deadline is far away; the open circuit answers.
    await expect(client.getVolume(vol(30), signal())).rejects.toThrow(/circuit open/);
    expect(transport.state).not.toBe("connected");
    await new Promise<void>((resolve) => {
      const off = transport.onStateChange((state) => {
        if (state === "connected") {
          off();
          resolve();
        }
      });
    });
    expect(await client.getVolume(vol(30), signal())).toMatchObject({ id: vol(30) });
  });

  it("refuses an RDS whose host key changed, naming both fingerprints, and changes nothing", async () => {
    const { sim, client } = await rig();
    const pinned = sim.hostKeyFingerprint;
    const presented = await sim.changeHostKey();
    await sim.restart();
    const refusal = client.createVolume({ id: vol(31), sizeBytes: GiB, port: 4420 }, signal());
    await expect(refusal).rejects.toThrow(FailedPreconditionError);
    await expect(refusal).rejects.toThrow(pinned);
    await expect(refusal).rejects.toThrow(presented);
    expect(sim.disks()).toHaveLength(0);
  });

  it("turns a command that outlives its deadline into Unavailable", async () => {
    const { sim, client } = await rig({ timeouts: { readMs: 200 } });
    sim.faults.setDelay({ read: 5_000 });
    await expect(client.getVolume(vol(27), AbortSignal.timeout(20_000))).rejects.toThrow(UnavailableError);
    sim.faults.reset();
  });

  it("counts commands by verb and outcome", async () => {
    const { client, metrics } = await rig();
    await client.createVolume({ id: vol(28), sizeBytes: GiB, port: 4420 }, signal());
    await expect(client.createVolume({ id: vol(29), sizeBytes: 1000n * GiB, port: 4420 }, signal())).rejects.toThrow(ResourceExhaustedError);
    const text = await metrics.metrics();
    expect(text).toContain('rds_csi_routeros_commands_total{verb="disk-add",outcome="ok"} 1');
    expect(text).toContain('rds_csi_routeros_commands_total{verb="disk-add",outcome="resource_exhausted"} 1');
    expect(text).toMatch(/rds_csi_routeros_command_duration_seconds_count\{verb="disk-print"\} \d+/);
  });
});
