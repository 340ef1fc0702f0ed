import { describeAsRoot } from "../as-root.js";
import { execFile } from "node:child_process";
import { lstat, mkdtemp, open, readdir, readFile, readlink, realpath, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeFabric, type FakeFabricOptions } from "./fake-fabric.js";
import { loopsOf, runTool } from "./loop-devices.js";
import { visibleDisk } from "./sysfs-layout.js";
import { startTestRds, type TestRds } from "./test-support/test-rds.js";

// Real loop devices, device nodes and losetup: root only (CI and the development container run as root).

const HOST_A = "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-4000-8000-000000000001";
const HOST_B = "nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-0000-4000-8000-000000000002";
const nqnOf = (slot: string): string => `nqn.2000-02.com.mikrotik:${slot}`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(program: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(program, [...args], { encoding: "utf8", timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const majorMinor = (rdev: number): string => `${Math.floor(rdev / 256) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`;

describeAsRoot("fake NVMe/TCP fabric over loop devices", () => {
  let rds: TestRds;
  let fabrics: FakeFabric[];
  let backingFiles: string[];

  const addVolume = async (slot: string, size = "1M", extra = ""): Promise<string> => {
    await rds.run(
      `/disk add type=file slot="${slot}" file-path="/raid10/vols/${slot}.img" file-size=${size} nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${nqnOf(slot)}" ${extra}`,
    );
    const file = rds.sim.disks().find((disk) => disk.slot === slot)!.backingFile;
    backingFiles.push(file);
    return file;
  };

  const newHost = async (hostNqn = HOST_A, options: Omit<FakeFabricOptions, "simulatorUrl" | "hostNqn"> = {}): Promise<{ fabric: FakeFabric; nvme: (...args: string[]) => Promise<Run> }> => {
    const fabric = await FakeFabric.create({ simulatorUrl: rds.sim.controlUrl, hostNqn, ...options });
    fabrics.push(fabric);
    const shim = await fabric.writeShim();
    return { fabric, nvme: (...args) => run(shim, args) };
  };

  const connectArgs = (slot: string, host = HOST_A): string[] => ["connect", "-t", "tcp", "-a", "127.0.0.1", "-s", "4420", "-n", nqnOf(slot), "-q", host, "-l", "-1", "-c", "5"];
  const sysfs = (fabric: FakeFabric, path: string): Promise<string> => readFile(join(fabric.sysfsRoot, path), "utf8");

  beforeEach(async () => {
    rds = await startTestRds();
    fabrics = [];
    backingFiles = [];
  });

  afterEach(async () => {
    for (const fabric of fabrics) await fabric.cleanup();
    await rds.cleanup();
    // Whatever a test did, no loop device may be left on its files.
    for (const file of backingFiles) expect(await loopsOf(file)).toEqual([]);
  });

  it("connects: sysfs tree, device node with the loop device's major:minor, connection on the RDS", async () => {
    const file = await addVolume("pvc-1");
    const { fabric, nvme } = await newHost();
    expect(await nvme(...connectArgs("pvc-1"), "-I", "aaaaaaaa-0000-4000-8000-000000000001")).toEqual({ code: 0, stdout: "device: nvme0\n", stderr: "" });
    await fabric.scanned();

    const [loop] = await loopsOf(file);
    expect(loop).toMatch(/^\/dev\/loop\d+$/);
    const loopDev = (await readFile(`/sys/class/block/${loop!.slice(5)}/dev`, "utf8")).trim();

    // controller
    expect(await sysfs(fabric, "class/nvme/nvme0/subsysnqn")).toBe(`${nqnOf("pvc-1")}\n`);
    expect(await sysfs(fabric, "class/nvme/nvme0/state")).toBe("live\n");
    expect(await sysfs(fabric, "class/nvme/nvme0/address")).toBe("traddr=127.0.0.1,trsvcid=4420\n");
    expect(await sysfs(fabric, "class/nvme/nvme0/transport")).toBe("tcp\n");
    expect(await sysfs(fabric, "class/nvme/nvme0/hostnqn")).toBe(`${HOST_A}\n`);
    expect(await sysfs(fabric, "class/nvme/nvme0/hostid")).toBe("aaaaaaaa-0000-4000-8000-000000000001\n");
    expect(await sysfs(fabric, "class/nvme/nvme0/cntlid")).toBe("1\n");
    expect(await sysfs(fabric, "class/nvme/nvme0/ctrl_loss_tmo")).toBe("off\n");
    expect(await sysfs(fabric, "class/nvme/nvme0/reconnect_delay")).toBe("5\n");
    expect(await readlink(join(fabric.sysfsRoot, "class/nvme/nvme0"))).toBe("../../devices/virtual/nvme-fabrics/ctl/nvme0");
    // subsystem, linked to its controller
    expect(await sysfs(fabric, "class/nvme-subsystem/nvme-subsys0/subsysnqn")).toBe(`${nqnOf("pvc-1")}\n`);
    expect(await realpath(join(fabric.sysfsRoot, "class/nvme-subsystem/nvme-subsys0/nvme0"))).toBe(
      await realpath(join(fabric.sysfsRoot, "class/nvme/nvme0")),
    );
    // namespace head (visible) and hidden path
    expect(await sysfs(fabric, "block/nvme0n1/size")).toBe("2048\n");
    expect(await sysfs(fabric, "block/nvme0n1/dev")).toBe(`${loopDev}\n`);
    expect(await sysfs(fabric, "block/nvme0n1/nsid")).toBe("1\n");
    const uuid = (await sysfs(fabric, "block/nvme0n1/uuid")).trim();
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await sysfs(fabric, "block/nvme0n1/wwid")).toBe(`uuid.${uuid}\n`);
    expect(await realpath(join(fabric.sysfsRoot, "block/nvme0n1/device"))).toBe(await realpath(join(fabric.sysfsRoot, "class/nvme-subsystem/nvme-subsys0")));
    expect(await sysfs(fabric, "class/nvme/nvme0/nvme0c0n1/nsid")).toBe("1\n");
    expect(await sysfs(fabric, "class/block/nvme0c0n1/hidden")).toBe("1\n");
    await expect(stat(join(fabric.sysfsRoot, "block/nvme0c0n1/dev"))).rejects.toThrow("ENOENT");
    // device nodes
    const node = await stat(join(fabric.devRoot, "nvme0n1"));
    expect(node.isBlockDevice()).toBe(true);
    expect(majorMinor(node.rdev)).toBe(loopDev);
    await expect(lstat(join(fabric.devRoot, "nvme0c0n1"))).rejects.toThrow("ENOENT");
    expect(await readlink(join(fabric.devRoot, `disk/by-id/nvme-uuid.${uuid}`))).toBe("../../nvme0n1");
    // the RDS sees the host
    expect(rds.sim.connections(nqnOf("pvc-1"))).toEqual([HOST_A]);
  });

  it("carries bytes between the device node and the backing file", async () => {
    const file = await addVolume("pvc-io");
    const { fabric, nvme } = await newHost();
    expect((await nvme(...connectArgs("pvc-io"), "-o", "json")).stdout).toBe('{\n  "device":"nvme0"\n}\n');
    await fabric.scanned();
    const scratch = await mkdtemp(join(tmpdir(), "fake-nvme-io-"));
    try {
      const payload = Buffer.alloc(4096, 0);
      payload.write("written through /dev/nvme0n1", "utf8");
      await writeFile(join(scratch, "in"), payload);
      await runTool("dd", [`if=${join(scratch, "in")}`, `of=${join(fabric.devRoot, "nvme0n1")}`, "bs=4096", "seek=3", "oflag=direct", "conv=fsync,notrunc", "status=none"]);
      const backing = await open(file, "r");
      const read = Buffer.alloc(4096);
      await backing.read(read, 0, 4096, 3 * 4096);
      await backing.close();
      expect(read.equals(payload)).toBe(true);

      await runTool("dd", [`if=${join(fabric.devRoot, "nvme0n1")}`, `of=${join(scratch, "out")}`, "bs=4096", "skip=3", "count=1", "iflag=direct", "status=none"]);
      expect((await readFile(join(scratch, "out"))).equals(payload)).toBe(true);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it("prints list-subsys -o json in nvme-cli 2.3's shape, and list -o json", async () => {
    await addVolume("pvc-a");
    await addVolume("pvc-b");
    const { fabric, nvme } = await newHost();
    expect(await nvme("list-subsys", "-o", "json")).toEqual({ code: 0, stdout: "[\n]\n", stderr: "" });
    await nvme(...connectArgs("pvc-a"));
    await nvme(...connectArgs("pvc-b"));
    await fabric.scanned();
    const listed = await nvme("list-subsys", "-o", "json");
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      {
        HostNQN: HOST_A,
        Subsystems: [
          { Name: "nvme-subsys0", NQN: nqnOf("pvc-a"), IOPolicy: "numa", Paths: [{ Name: "nvme0", Transport: "tcp", Address: "traddr=127.0.0.1,trsvcid=4420", State: "live" }] },
          { Name: "nvme-subsys1", NQN: nqnOf("pvc-b"), IOPolicy: "numa", Paths: [{ Name: "nvme1", Transport: "tcp", Address: "traddr=127.0.0.1,trsvcid=4420", State: "live" }] },
        ],
      },
    ]);
    const one = JSON.parse((await nvme("list-subsys", "-o", "json", join(fabric.devRoot, "nvme1n1"))).stdout);
    expect(one[0].Subsystems).toEqual([expect.objectContaining({ NQN: nqnOf("pvc-b"), Paths: [expect.objectContaining({ Name: "nvme1", ANAState: "optimized" })] })]);
    const devices = JSON.parse((await nvme("list", "-o", "json")).stdout).Devices;
    expect(devices).toEqual([
      expect.objectContaining({ NameSpace: 1, DevicePath: join(fabric.devRoot, "nvme0n1"), PhysicalSize: 1048576, SectorSize: 512 }),
      expect.objectContaining({ NameSpace: 1, DevicePath: join(fabric.devRoot, "nvme1n1") }),
    ]);
    expect(await nvme("version")).toEqual({ code: 0, stdout: "nvme version 2.3 (git 2.3)\nlibnvme version 1.3 (git 1.3)\n", stderr: "" });
  });

  it("answers a second connect of the same target and host with nvme-cli's 'already connected'", async () => {
    const file = await addVolume("pvc-dup");
    const { fabric, nvme } = await newHost();
    expect((await nvme(...connectArgs("pvc-dup"))).code).toBe(0);
    await fabric.scanned();
    expect(await nvme(...connectArgs("pvc-dup"))).toEqual({ code: 1, stdout: "", stderr: "already connected\n" });
    expect(await loopsOf(file)).toHaveLength(1);
  });

  it("is refused for a host the export does not allow (enforce-new) and for an unknown NQN or port", async () => {
    const file = await addVolume("pvc-acl", "1M", `nvme-tcp-server-allow-host-name="${HOST_A}"`);
    await rds.sim.updateSettings({ allowHost: "enforce-new" });
    const a = await newHost(HOST_A);
    const b = await newHost(HOST_B);
    const refused = { code: 1, stdout: "", stderr: "could not add new controller: failed to write to nvme-fabrics device\n" };
    expect(await b.nvme(...connectArgs("pvc-acl", HOST_B))).toEqual(refused);
    expect(await readFile(join(b.fabric.sysfsRoot, "class/nvme/nvme0/state"), "utf8").catch(() => "absent")).toBe("absent");
    expect(await loopsOf(file)).toEqual([]);
    expect(await b.nvme(...connectArgs("pvc-missing", HOST_B))).toEqual(refused);
    expect(await a.nvme("connect", "-t", "tcp", "-a", "127.0.0.1", "-s", "4421", "-n", nqnOf("pvc-acl"), "-q", HOST_A)).toEqual(refused);
    expect((await a.nvme(...connectArgs("pvc-acl", HOST_A))).code).toBe(0);
    expect(rds.sim.connections(nqnOf("pvc-acl"))).toEqual([HOST_A]);
  });

  it("records a second host connected to the same export", async () => {
    await addVolume("pvc-shared");
    const a = await newHost(HOST_A);
    const b = await newHost(HOST_B);
    expect((await a.nvme(...connectArgs("pvc-shared", HOST_A))).code).toBe(0);
    expect((await b.nvme(...connectArgs("pvc-shared", HOST_B))).code).toBe(0);
    await a.fabric.scanned();
    await b.fabric.scanned();
    expect(rds.sim.connections(nqnOf("pvc-shared"))).toEqual([HOST_A, HOST_B]);
    expect((await a.fabric.namespace(nqnOf("pvc-shared")))!.loopDevice).not.toBe((await b.fabric.namespace(nqnOf("pvc-shared")))!.loopDevice);
    await a.nvme("disconnect", "-n", nqnOf("pvc-shared"));
    expect(rds.sim.connections(nqnOf("pvc-shared"))).toEqual([HOST_B]);
  });

  it("disconnects by NQN and by controller, removing sysfs entries, device nodes and the loop device", async () => {
    const file1 = await addVolume("pvc-d1");
    const file2 = await addVolume("pvc-d2");
    const { fabric, nvme } = await newHost();
    await nvme(...connectArgs("pvc-d1"));
    await nvme(...connectArgs("pvc-d2"));
    await fabric.scanned();
    const uuid = (await sysfs(fabric, "block/nvme0n1/uuid")).trim();

    expect(await nvme("disconnect", "-n", nqnOf("pvc-d1"))).toEqual({ code: 0, stdout: `NQN:${nqnOf("pvc-d1")} disconnected 1 controller(s)\n`, stderr: "" });
    for (const gone of ["class/nvme/nvme0", "class/nvme-subsystem/nvme-subsys0", "block/nvme0n1", "class/block/nvme0n1", "class/block/nvme0c0n1", "devices/virtual/nvme-fabrics/ctl/nvme0"]) {
      await expect(lstat(join(fabric.sysfsRoot, gone))).rejects.toThrow("ENOENT");
    }
    await expect(lstat(join(fabric.devRoot, "nvme0n1"))).rejects.toThrow("ENOENT");
    await expect(lstat(join(fabric.devRoot, `disk/by-id/nvme-uuid.${uuid}`))).rejects.toThrow("ENOENT");
    expect(await loopsOf(file1)).toEqual([]);
    expect(rds.sim.connections(nqnOf("pvc-d1"))).toEqual([]);
    expect(await nvme("disconnect", "-n", nqnOf("pvc-d1"))).toEqual({ code: 0, stdout: `NQN:${nqnOf("pvc-d1")} disconnected 0 controller(s)\n`, stderr: "" });

    expect(await nvme("disconnect", "-d", "/dev/nvme1")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await loopsOf(file2)).toEqual([]);
    expect(await nvme("disconnect", "-d", "nvme1")).toEqual({ code: 1, stdout: "", stderr: "Did not find device nvme1\n" });
    expect(JSON.parse((await nvme("list-subsys", "-o", "json")).stdout)).toEqual([]);
  });

  it("loses the connection (state connecting) and gets it back", async () => {
    await addVolume("pvc-loss");
    const { fabric, nvme } = await newHost();
    await nvme(...connectArgs("pvc-loss"));
    await fabric.scanned();
    await fabric.loseConnection(nqnOf("pvc-loss"));
    expect(await sysfs(fabric, "class/nvme/nvme0/state")).toBe("connecting\n");
    expect(JSON.parse((await nvme("list-subsys", "-o", "json")).stdout)[0].Subsystems[0].Paths[0].State).toBe("connecting");
    await fabric.reconnect(nqnOf("pvc-loss"));
    expect(await sysfs(fabric, "class/nvme/nvme0/state")).toBe("live\n");
  });

  it("reconnects with renumbering: new controller, disk name and major:minor, old device node gone, same data", async () => {
    await addVolume("pvc-other");
    const file = await addVolume("pvc-renum");
    const { fabric, nvme } = await newHost();
    await nvme(...connectArgs("pvc-other"));
    await nvme(...connectArgs("pvc-renum"));
    await fabric.scanned();
    const before = (await fabric.namespace(nqnOf("pvc-renum")))!;
    expect(before).toMatchObject({ disk: "nvme1n1", controllers: ["nvme1"] });
    await runTool("dd", ["if=/dev/urandom", `of=${before.devicePath}`, "bs=4096", "count=1", "oflag=direct", "conv=fsync", "status=none"]);
    const written = await readFile(file).then((bytes) => bytes.subarray(0, 4096));

    await fabric.reconnect(nqnOf("pvc-renum"), { renumber: true });
    const after = (await fabric.namespace(nqnOf("pvc-renum")))!;
    expect(after.disk).not.toBe(before.disk);
    expect(after.controllers).not.toEqual(before.controllers);
    expect(`${after.major}:${after.minor}`).not.toBe(`${before.major}:${before.minor}`);
    await expect(lstat(before.devicePath)).rejects.toThrow("ENOENT");
    await expect(lstat(join(fabric.sysfsRoot, "class/nvme", before.controllers[0]!))).rejects.toThrow("ENOENT");
    expect(await sysfs(fabric, `block/${after.disk}/dev`)).toBe(`${after.major}:${after.minor}\n`);
    expect(majorMinor((await stat(after.devicePath)).rdev)).toBe(`${after.major}:${after.minor}`);
    expect(await loopsOf(file)).toEqual([after.loopDevice]);
    const scratch = await mkdtemp(join(tmpdir(), "fake-nvme-renum-"));
    try {
      await runTool("dd", [`if=${after.devicePath}`, `of=${join(scratch, "out")}`, "bs=4096", "count=1", "iflag=direct", "status=none"]);
      expect((await readFile(join(scratch, "out"))).equals(written)).toBe(true);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    expect(rds.sim.connections(nqnOf("pvc-renum"))).toEqual([HOST_A]);
    expect((await nvme("disconnect", "-n", nqnOf("pvc-renum"))).stdout).toBe(`NQN:${nqnOf("pvc-renum")} disconnected 1 controller(s)\n`);
    expect(await loopsOf(file)).toEqual([]);
  });

  it("loses a controller for good: everything the kernel removes is gone, a mount keeps the old loop until unmounted, a new connect gets new numbers", async () => {
    const file = await addVolume("pvc-gone", "8M");
    const { fabric, nvme } = await newHost();
    await nvme(...connectArgs("pvc-gone"));
    await fabric.scanned();
    const before = (await fabric.namespace(nqnOf("pvc-gone")))!;
    await runTool("mkfs.ext4", ["-q", "-F", before.devicePath]);
    const mountPoint = await mkdtemp(join(tmpdir(), "fake-nvme-gone-"));
    await runTool("mount", [before.devicePath, mountPoint]);
    try {
      await writeFile(join(mountPoint, "kept.txt"), "written before the loss");
      await runTool("sync", ["-f", mountPoint]);

      await fabric.loseControllerForGood(nqnOf("pvc-gone"));
      expect(await fabric.namespace(nqnOf("pvc-gone"))).toBeUndefined();
      for (const gone of ["class/nvme/nvme0", "class/nvme-subsystem/nvme-subsys0", "block/nvme0n1", "class/block/nvme0c0n1", "devices/virtual/nvme-fabrics/ctl/nvme0"]) {
        await expect(lstat(join(fabric.sysfsRoot, gone))).rejects.toThrow("ENOENT");
      }
      await expect(lstat(before.devicePath)).rejects.toThrow("ENOENT");
      expect(JSON.parse((await nvme("list-subsys", "-o", "json")).stdout)).toEqual([]);
      expect(rds.sim.connections(nqnOf("pvc-gone"))).toEqual([]);
      expect(await loopsOf(file)).toEqual([before.loopDevice]); // the mount still holds it

      expect(await nvme(...connectArgs("pvc-gone"))).toEqual({ code: 0, stdout: "device: nvme1\n", stderr: "" });
      await fabric.scanned();
      const after = (await fabric.namespace(nqnOf("pvc-gone")))!;
      expect(after).toMatchObject({ disk: "nvme1n1", controllers: ["nvme1"], state: "live" });
      expect(`${after.major}:${after.minor}`).not.toBe(`${before.major}:${before.minor}`);
      expect((await loopsOf(file)).sort()).toEqual([before.loopDevice, after.loopDevice].sort());
      expect(rds.sim.connections(nqnOf("pvc-gone"))).toEqual([HOST_A]);
    } finally {
      await runTool("umount", [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    }
    const after = (await fabric.namespace(nqnOf("pvc-gone")))!;
    expect(await loopsOf(file)).toEqual([after.loopDevice]); // released with its last user
    const remounted = await mkdtemp(join(tmpdir(), "fake-nvme-gone-"));
    try {
      await runTool("mount", [after.devicePath, remounted]);
      expect(await readFile(join(remounted, "kept.txt"), "utf8")).toBe("written before the loss");
    } finally {
      await runTool("umount", [remounted]).catch(() => undefined);
      await rm(remounted, { recursive: true, force: true });
    }
  });

  it("shows a grown namespace after ns-rescan (and after resizeNamespace)", async () => {
    await addVolume("pvc-grow");
    const { fabric, nvme } = await newHost();
    await nvme(...connectArgs("pvc-grow"));
    await fabric.scanned();
    await rds.run('/disk set "pvc-grow" file-size=2M');
    expect(await nvme("ns-rescan", "/dev/nvme0")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await sysfs(fabric, "block/nvme0n1/size")).toBe("4096\n");
    expect(await sysfs(fabric, "class/nvme/nvme0/nvme0c0n1/size")).toBe("4096\n");
    expect((await runTool("blockdev", ["--getsize64", join(fabric.devRoot, "nvme0n1")])).trim()).toBe("2097152");

    await rds.run('/disk set "pvc-grow" file-size=3M');
    await fabric.resizeNamespace(nqnOf("pvc-grow"));
    expect(await sysfs(fabric, "block/nvme0n1/size")).toBe("6144\n");
    expect(await nvme("ns-rescan", "/dev/nvme7")).toEqual({ code: 1, stdout: "", stderr: "/dev/nvme7: No such file or directory\n" });
  });

  it("keeps concurrent invocations consistent (state lock)", async () => {
    const slots = ["pvc-c0", "pvc-c1", "pvc-c2", "pvc-c3", "pvc-c4"];
    for (const slot of slots) await addVolume(slot);
    const { fabric, nvme } = await newHost();
    const results = await Promise.all(slots.map((slot) => nvme(...connectArgs(slot))));
    await fabric.scanned();
    expect(results.map((result) => result.code)).toEqual([0, 0, 0, 0, 0]);
    expect(results.map((result) => result.stdout).sort()).toEqual(["device: nvme0\n", "device: nvme1\n", "device: nvme2\n", "device: nvme3\n", "device: nvme4\n"]);
    const state = await fabric.state();
    expect(new Set(state.subsystems.map((sub) => sub.namespace?.loopDevice)).size).toBe(5);
    const down = await Promise.all(slots.map((slot) => nvme("disconnect", "-n", nqnOf(slot))));
    expect(down.map((result) => result.stdout)).toEqual(slots.map((slot) => `NQN:${nqnOf(slot)} disconnected 1 controller(s)\n`));
    expect((await fabric.state()).subsystems).toEqual([]);
  });

  it("cleanup detaches every loop device and removes the host's directories", async () => {
    const files = [await addVolume("pvc-k1"), await addVolume("pvc-k2")];
    const { fabric, nvme } = await newHost();
    await nvme(...connectArgs("pvc-k1"));
    await nvme(...connectArgs("pvc-k2"));
    await fabric.scanned();
    await fabric.loseConnection(nqnOf("pvc-k2"));
    for (const file of files) expect(await loopsOf(file)).toHaveLength(1);
    await fabric.cleanup();
    for (const file of files) expect(await loopsOf(file)).toEqual([]);
    await expect(stat(fabric.baseDir)).rejects.toThrow("ENOENT");
    expect(rds.sim.connections(nqnOf("pvc-k1"))).toEqual([]);
  });

  it.each(["no-multipath", "no-cmic"] as const)("layout %s: the controller's own disk under the controller, no head under the subsystem", async (layout) => {
    await addVolume("pvc-l0");
    await addVolume("pvc-l1");
    const { fabric, nvme } = await newHost(HOST_A, { layout });
    expect((await nvme(...connectArgs("pvc-l0"))).code).toBe(0);
    expect((await nvme(...connectArgs("pvc-l1"))).code).toBe(0);
    await fabric.scanned();
    const ns = (await fabric.namespace(nqnOf("pvc-l1")))!;
    expect(ns).toMatchObject({ controllers: ["nvme1"], disk: "nvme1n1" });
    const controllerDir = join(fabric.sysfsRoot, "class/nvme/nvme1");
    expect(await readFile(join(controllerDir, "nvme1n1/dev"), "utf8")).toBe(`${ns.major}:${ns.minor}\n`);
    expect(await readFile(join(controllerDir, "nvme1n1/hidden"), "utf8")).toBe("0\n");
    expect(await realpath(join(fabric.sysfsRoot, "class/block/nvme1n1/device"))).toBe(await realpath(controllerDir));
    for (const entry of await readdir(join(fabric.sysfsRoot, "class/nvme-subsystem"))) {
      expect((await readdir(join(fabric.sysfsRoot, "class/nvme-subsystem", entry))).filter((name) => /^nvme\d+n\d+$/.test(name))).toEqual([]);
    }
    await expect(lstat(join(fabric.sysfsRoot, "class/block/nvme1c1n1"))).rejects.toThrow("ENOENT");
    expect(majorMinor((await stat(join(fabric.devRoot, "nvme1n1"))).rdev)).toBe(`${ns.major}:${ns.minor}`);
    expect((await nvme("disconnect", "-n", nqnOf("pvc-l1"))).code).toBe(0);
    await expect(lstat(join(fabric.devRoot, "nvme1n1"))).rejects.toThrow("ENOENT");
    await expect(lstat(join(fabric.sysfsRoot, "class/block/nvme1n1"))).rejects.toThrow("ENOENT");
    // The names, where S and C differ (multipath.c nvme_mpath_set_disk_name, core.c nvme_alloc_ns):
    expect(visibleDisk(layout, 3, 5, 1)).toEqual({ name: layout === "no-multipath" ? "nvme5n1" : "nvme3n1", controller: 5 });
    expect(visibleDisk("native-multipath", 3, 5, 1)).toEqual({ name: "nvme3n1", controller: undefined });
  });

  it("scans the namespace after `nvme connect` returned (the kernel's scan work), not before", async () => {
    await addVolume("pvc-async");
    const { fabric, nvme } = await newHost(HOST_A, { scanDelayMs: 400 });
    expect((await nvme(...connectArgs("pvc-async"))).code).toBe(0);
    expect(await sysfs(fabric, "class/nvme/nvme0/state")).toBe("live\n");
    await expect(lstat(join(fabric.sysfsRoot, "class/block/nvme0n1"))).rejects.toThrow("ENOENT");
    await expect(lstat(join(fabric.devRoot, "nvme0n1"))).rejects.toThrow("ENOENT");
    expect(JSON.parse((await nvme("list", "-o", "json")).stdout).Devices).toEqual([]);
    await fabric.scanned();
    expect((await stat(join(fabric.devRoot, "nvme0n1"))).isBlockDevice()).toBe(true);
  });

  it("fails a connect to an address where no target listens, and one host NQN with a second host ID (EINVAL)", async () => {
    const file = await addVolume("pvc-addr");
    await addVolume("pvc-id");
    const { fabric, nvme } = await newHost();
    const refused = { code: 1, stdout: "", stderr: "could not add new controller: failed to write to nvme-fabrics device\n" };
    expect(await nvme("connect", "-t", "tcp", "-a", "127.0.0.2", "-s", "4420", "-n", nqnOf("pvc-addr"), "-q", HOST_A)).toEqual(refused);
    expect(await loopsOf(file)).toEqual([]);
    expect(rds.sim.connections(nqnOf("pvc-addr"))).toEqual([]);
    expect(await readFile(join(fabric.baseDir, "state/fabric.log"), "utf8")).toMatch(/ECONNREFUSED/);

    expect((await nvme(...connectArgs("pvc-addr"), "-I", "aaaaaaaa-0000-4000-8000-000000000001")).code).toBe(0);
    // fabrics.c nvmf_host_add: same host NQN, another host ID (given, or the kernel's default one)
    expect(await nvme(...connectArgs("pvc-id"), "-I", "aaaaaaaa-0000-4000-8000-0000000000ff")).toEqual(refused);
    expect(await nvme(...connectArgs("pvc-id"))).toEqual(refused);
    // … and the same host ID under another host NQN
    expect(await nvme(...connectArgs("pvc-id", HOST_B), "-I", "aaaaaaaa-0000-4000-8000-000000000001")).toEqual(refused);
    expect(await readFile(join(fabric.baseDir, "state/fabric.log"), "utf8")).toMatch(/EINVAL/);
    expect(rds.sim.connections(nqnOf("pvc-id"))).toEqual([]);
    expect((await nvme(...connectArgs("pvc-id"), "-I", "aaaaaaaa-0000-4000-8000-000000000001")).code).toBe(0);
  });

  it("namespace identifiers: EUI-64 only (no uuid file), and a new UUID after a target restart", async () => {
    await addVolume("pvc-eui");
    const eui = await newHost(HOST_A, { namespaceIds: "eui64-only" });
    await eui.fabric.connect({ nqn: nqnOf("pvc-eui"), traddr: "127.0.0.1", trsvcid: "4420" });
    await expect(lstat(join(eui.fabric.sysfsRoot, "block/nvme0n1/uuid"))).rejects.toThrow("ENOENT");
    const hex = (await sysfs(eui.fabric, "block/nvme0n1/wwid")).trim();
    expect(hex).toMatch(/^eui\.[0-9a-f]{16}$/);
    expect(await sysfs(eui.fabric, "block/nvme0n1/eui")).toBe(`${hex.slice(4).match(/../g)!.join(" ")}\n`);
    expect(await readlink(join(eui.fabric.devRoot, `disk/by-id/nvme-${hex}`))).toBe("../../nvme0n1");

    await addVolume("pvc-reboot");
    const per = await newHost(HOST_B, { namespaceIds: "uuid-per-restart" });
    await per.fabric.connect({ nqn: nqnOf("pvc-reboot"), traddr: "127.0.0.1", trsvcid: "4420" });
    const before = (await per.fabric.namespace(nqnOf("pvc-reboot")))!;
    await per.fabric.loseConnection(nqnOf("pvc-reboot"));
    await per.fabric.reconnect(nqnOf("pvc-reboot"));
    expect((await per.fabric.namespace(nqnOf("pvc-reboot")))!.uuid).toBe(before.uuid); // no restart, same namespace
    await per.fabric.targetRestarted();
    await per.fabric.reconnect(nqnOf("pvc-reboot"));
    const after = (await per.fabric.namespace(nqnOf("pvc-reboot")))!;
    // core.c nvme_validate_ns: "identifiers changed" → the old disk goes, a new head instance appears
    expect(after.uuid).not.toBe(before.uuid);
    expect(after.disk).toBe("nvme0n2");
    expect(await sysfs(per.fabric, "block/nvme0n2/nsid")).toBe("1\n");
    await expect(lstat(before.devicePath)).rejects.toThrow("ENOENT");
    expect(after.controllers).toEqual(before.controllers);
  });

  it("lists a device-mapper device stacked on the namespace in holders/", async () => {
    await addVolume("pvc-held");
    const { fabric } = await newHost();
    await fabric.connect({ nqn: nqnOf("pvc-held"), traddr: "127.0.0.1", trsvcid: "4420" });
    expect(await readdir(join(fabric.sysfsRoot, "class/block/nvme0n1/holders"))).toEqual([]);
    await fabric.setHolders(nqnOf("pvc-held"), ["dm-0"]);
    expect(await readdir(join(fabric.sysfsRoot, "class/block/nvme0n1/holders"))).toEqual(["dm-0"]);
    await fabric.setHolders(nqnOf("pvc-held"), []);
    expect(await readdir(join(fabric.sysfsRoot, "class/block/nvme0n1/holders"))).toEqual([]);
  });

  describe("the kernel's own timers, with I/O through the FUSE gate", () => {
    // Each second of reconnect_delay / ctrl_loss_tmo lasts 50 ms.
    const timers = { gatedIo: true, kernelTimers: { msPerSecond: 50 } } as const;
    const readBlock = (device: string): Promise<Run> => run("dd", [`if=${device}`, "of=/dev/null", "bs=4096", "count=1", "iflag=direct", "status=none"]);
    const settledWithin = async (promise: Promise<unknown>, ms: number): Promise<boolean> =>
      Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, ms, false))]);

    it("holds I/O while the controller reconnects and lets it through when the kernel's reconnect succeeds", async () => {
      await addVolume("pvc-hold", "1M");
      const { fabric } = await newHost(HOST_A, timers);
      await fabric.connect({ nqn: nqnOf("pvc-hold"), traddr: "127.0.0.1", trsvcid: "4420", ctrlLossTmo: 60, reconnectDelay: 1 });
      const before = (await fabric.namespace(nqnOf("pvc-hold")))!;
      expect((await readBlock(before.devicePath)).code).toBe(0);

      await rds.sim.restart({ refuseConnectionsMs: 800 }); // the RDS reboots; the host notices
      await fabric.loseConnection(nqnOf("pvc-hold"));
      const held = readBlock(before.devicePath);
      expect(await settledWithin(held, 400)).toBe(false); // queued, not failed
      expect(await sysfs(fabric, "class/nvme/nvme0/state")).toBe("connecting\n");
      await fabric.reconnectSettled(nqnOf("pvc-hold"));
      expect((await held).code).toBe(0);
      const after = (await fabric.namespace(nqnOf("pvc-hold")))!;
      expect(after).toMatchObject({ state: "live", disk: before.disk, loopDevice: before.loopDevice });
    });

    it("fails held I/O with EIO once ctrl_loss_tmo expired, and the controller is gone", async () => {
      await addVolume("pvc-fail", "1M");
      const { fabric } = await newHost(HOST_A, timers);
      await fabric.connect({ nqn: nqnOf("pvc-fail"), traddr: "127.0.0.1", trsvcid: "4420", ctrlLossTmo: 3, reconnectDelay: 1 });
      const before = (await fabric.namespace(nqnOf("pvc-fail")))!;
      await rds.sim.restart({ refuseConnectionsMs: 5_000 });
      await fabric.loseConnection(nqnOf("pvc-fail"));
      // Opened before the controller goes, as a mount holds it: its I/O is held, then failed.
      const held = readBlock(before.devicePath);
      await fabric.reconnectSettled(nqnOf("pvc-fail")); // 3 attempts (DIV_ROUND_UP(3, 1)), then deleted
      const result = await held;
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/Input\/output error/);
      expect(await fabric.namespace(nqnOf("pvc-fail"))).toBeUndefined();
      await expect(lstat(join(fabric.sysfsRoot, "class/nvme/nvme0"))).rejects.toThrow("ENOENT");
    });
  });

  it("reports a shim without its configuration and nvme-cli's argument errors", async () => {
    const { nvme } = await newHost();
    expect(await nvme("connect", "-t", "tcp", "-a", "127.0.0.1")).toEqual({ code: 1, stdout: "", stderr: "required argument [--nqn | -n] not specified\n" });
    expect(await nvme("connect", "--bogus")).toEqual({ code: 1, stdout: "", stderr: "nvme: unrecognized option '--bogus'\n" });
    expect(await nvme("disconnect")).toEqual({ code: 1, stdout: "", stderr: "Neither device name [--device | -d] nor NQN [--nqn | -n] provided\n" });
    const bare = await run(process.execPath, [(await import("./nvme-shim.js")).FAKE_NVME_CLI, "list-subsys", "-o", "json"]);
    expect(bare).toEqual({ code: 2, stdout: "", stderr: "fake nvme: environment variable FAKE_NVME_STATE_DIR is not set\n" });
  });
});
