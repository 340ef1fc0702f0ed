import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFile, stat, writeFile } from "node:fs/promises";
import { LoopDevices } from "../support/loop-device.js";
import { parseMountInfo, type MountInfoEntry } from "../../src/mount/parse-mountinfo.js";
import { KernelDeviceNodes, majorMinorOf } from "../../src/nvme/device-nodes.js";
import { readMountRefs } from "../../src/nvme/device-usage.js";

const withLoops = LoopDevices.available() ? describe : describe.skip;
const kernel = new KernelDeviceNodes();
const isOpenedExclusively = (path: string) => kernel.openedExclusively(path);

withLoops("KernelDeviceNodes.openedExclusively (real loop device, root)", () => {
  let loops: LoopDevices;
  beforeEach(() => {
    loops = new LoopDevices();
  });
  afterEach(() => loops.cleanup());

  it("sees a filesystem that this process's mount table no longer shows, still used elsewhere", async () => {
    const { device } = loops.create(16 * 1024 * 1024);
    execFileSync("mkfs.ext4", ["-q", device]);
    const mountPoint = loops.mkdir("detached");
    expect(await isOpenedExclusively(device)).toBe(false);

    // A container's copy of a mount keeps the filesystem's super block, and with it the exclusive claim on
    // the device, after the host unmounted it. A lazily unmounted filesystem that a process still uses is
    // in the same state (fs/namespace.c: a detached mount lives until its last user; fs/super.c keeps the
    // device claimed while the super block lives). Not a new mount namespace here: that copies every mount
    // on the machine, other suites' staging mounts too, and while it lived their unstage found their
    // devices busy and kept the controller (node-unstage-holders.test failed so under a parallel run).
    execFileSync("mount", [device, loops.track(mountPoint)]);
    const holder = spawn("sleep", ["60"], { cwd: mountPoint, stdio: "ignore" });
    try {
      await once(holder, "spawn");
      execFileSync("umount", ["--lazy", mountPoint]);
      const ours = parseMountInfo(await readFile("/proc/self/mountinfo", "utf8"));
      expect(ours.some((m) => m.mountPoint === mountPoint)).toBe(false);
      expect(await isOpenedExclusively(device)).toBe(true);
    } finally {
      holder.kill("SIGKILL");
      await once(holder, "exit");
    }
    // The last user is gone, and the detached mount with it.
    expect(await isOpenedExclusively(device)).toBe(false);
  });

  it("is undefined for a device it cannot open", async () => {
    expect(await isOpenedExclusively(`${loops.dir}/no-such-device`)).toBeUndefined();
  });
});

withLoops("readMountRefs (real loop device, root)", () => {
  let loops: LoopDevices;
  beforeEach(() => {
    loops = new LoopDevices();
  });
  afterEach(() => loops.cleanup());

  const bindFile = async (source: string, name: string): Promise<string> => {
    const target = `${loops.dir}/${name}`;
    await writeFile(target, "");
    execFileSync("mount", ["--bind", source, loops.track(target)]);
    return target;
  };

  it("sees the device behind a bind-mounted device node, which mountinfo shows only as a file of the node's filesystem", async () => {
    const { device } = loops.create(16 * 1024 * 1024);
    const majorMinor = majorMinorOf((await stat(device)).rdev);
    // As NodePublish of a raw block volume binds /dev/<dev>, and as the fake fabric's nodes (mknod elsewhere) are bound.
    const fromDev = await bindFile(device, "publish");
    const [major, minor] = majorMinor.split(":");
    const node = `${loops.dir}/node`;
    execFileSync("mknod", [node, "b", major!, minor!]);
    const fromNode = await bindFile(node, "publish-fake");
    const dirMount = loops.track(loops.mkdir("dir-bind"));
    execFileSync("mount", ["--bind", loops.mkdir("dir-source"), dirMount]);

    const table = parseMountInfo(await readFile("/proc/self/mountinfo", "utf8"));
    const entry = (path: string) => table.find((m) => m.mountPoint === path)!;
    expect(entry(fromDev)).toMatchObject({ root: device.replace("/dev", "") });
    expect(entry(fromDev).majorMinor).not.toBe(majorMinor);
    expect(entry(fromNode).majorMinor).not.toBe(majorMinor);

    const refs = await readMountRefs(table, kernel);
    const ref = (path: string) => refs.find((m) => m.mountPoint === path)!;
    expect(ref(fromDev).boundDevice).toBe(majorMinor);
    expect(ref(fromNode).boundDevice).toBe(majorMinor);
    expect(ref(dirMount).boundDevice).toBeNull();
    expect(refs.find((m) => m.mountPoint === "/")!.boundDevice).toBeNull();
  });

  it("is undefined (unverifiable) for a bind mount point that cannot be stat'ed; a whole filesystem or a network filesystem is not stat'ed", async () => {
    const missing = `${loops.dir}/gone`;
    const entry = (root: string, fsType = "devtmpfs"): MountInfoEntry => ({
      mountId: 1, parentId: 0, major: 0, minor: 5, majorMinor: "0:5", root, mountPoint: missing,
      mountOptions: [], optionalFields: [], fsType, source: fsType, superOptions: [],
    });
    expect((await readMountRefs([entry("/nvme1n1")], kernel))[0]!.boundDevice).toBeUndefined();
    expect((await readMountRefs([entry("/")], kernel))[0]!.boundDevice).toBeNull();
    // A network filesystem never holds a bound device node, and its stat() may never return: not asked.
    for (const fsType of ["nfs4", "cifs", "fuse.sshfs"]) expect((await readMountRefs([entry("/export/sub", fsType)], kernel))[0]!.boundDevice).toBeNull();
  });
});
