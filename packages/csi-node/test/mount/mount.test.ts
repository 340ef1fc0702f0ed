import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statfsSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FailedPreconditionError, InternalError, InvalidArgumentError, ProcessExec } from "@rds-csi/core";
import { ExecMounter } from "../../src/mount/exec-mounter.js";
import { Formatter } from "../../src/mount/format.js";
import { LoopDevices } from "../support/loop-device.js";
import { FilesystemProbe } from "../../src/mount/probe-filesystem.js";
import { FilesystemResizer } from "../../src/mount/resize-filesystem.js";

const MiB = 1024 * 1024;
const CAP_SYS_RESOURCE = 24;

function hasCapability(bit: number): boolean {
  const line = readFileSync("/proc/self/status", "utf8").split("\n").find((l) => l.startsWith("CapEff:"));
  return line !== undefined && ((BigInt(`0x${line.split(/\s+/)[1]}`) >> BigInt(bit)) & 1n) === 1n;
}
const exec = new ProcessExec();
const probe = new FilesystemProbe(exec, { timeoutMs: 20_000 });
const formatter = new Formatter(exec, probe, { timeoutMs: 60_000 });
const mounter = new ExecMounter(exec, { timeoutMs: 20_000, unmountAttempts: 2, unmountRetryDelayMs: 100 });
const resizer = new FilesystemResizer(exec, { timeoutMs: 60_000 });

const describeRoot = LoopDevices.available() ? describe : describe.skip;

describeRoot("on real loop devices", () => {
  let loops: LoopDevices;
  beforeEach(() => {
    loops = new LoopDevices();
  });
  afterEach(() => {
    loops.cleanup();
  });

  describe("probe", () => {
    it("a zeroed device is empty", async () => {
      const { device } = loops.create(64 * MiB);
      expect(await probe.probe(device)).toEqual({ kind: "empty" });
    });

    it("after mkfs.ext4 it is an ext4 filesystem", async () => {
      const { device } = loops.create(64 * MiB);
      execFileSync("mkfs.ext4", ["-q", device], { stdio: "ignore" });
      expect(await probe.probe(device)).toEqual({ kind: "filesystem", type: "ext4", uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    });

    it("a raw MBR with one partition entry is a partition table, and is never formatted", async () => {
      const { device } = loops.create(64 * MiB);
      const mbr = Buffer.alloc(512);
      mbr.set([0x00, 0x00, 0x02, 0x00, 0x83, 0x00, 0x00, 0x00], 446); // status, CHS, type 0x83 (Linux), CHS
      mbr.writeUInt32LE(2048, 446 + 8); // first LBA
      mbr.writeUInt32LE(4096, 446 + 12); // sectors
      mbr.set([0x55, 0xaa], 510);
      execFileSync("dd", [`of=${device}`, "conv=notrunc,fsync", "status=none"], { input: mbr });
      expect(await probe.probe(device)).toEqual({ kind: "partition-table", type: "dos" });
      await expect(formatter.format(device, "ext4")).rejects.toThrow(FailedPreconditionError);
      expect(await probe.probe(device)).toEqual({ kind: "partition-table", type: "dos" });
    });

    // Documented: blkid finds no signature in random bytes and exits 2, so such a device reads as
    // empty. blkid recognises signatures; it cannot tell "never written" from "unrecognised data".
    it("random non-filesystem data: blkid reports nothing, so it is empty", async () => {
      const { device } = loops.create(64 * MiB);
      const random = Buffer.alloc(MiB);
      for (let i = 0; i < random.length; i++) random[i] = (i * 2654435761) >>> 24; // deterministic noise
      random.set([0x00, 0x00], 510); // keep it from looking like an MBR by chance
      execFileSync("dd", [`of=${device}`, "conv=notrunc,fsync", "status=none"], { input: random });
      expect(await probe.probe(device)).toEqual({ kind: "empty" });
    });

    it("a nonexistent device or a non-device throws (blkid itself would exit 2 = 'empty')", async () => {
      await expect(probe.probe("/dev/rds-csi-does-not-exist")).rejects.toThrow(InternalError);
      await expect(probe.probe(loops.dir)).rejects.toThrow(/not a block device/);
      await expect(probe.probe("relative")).rejects.toThrow(/absolute/);
    });
  });

  for (const fsType of ["ext4", "xfs"] as const) {
    it(`formats ${fsType}, mounts, writes and reads a file, unmounts`, async () => {
      const { device } = loops.create(320 * MiB); // xfs needs 300 MiB
      await formatter.format(device, fsType);
      expect(await probe.probe(device)).toEqual({ kind: "filesystem", type: fsType, uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      await expect(formatter.format(device, fsType)).rejects.toThrow(/refusing to format .* holds a/);

      const target = loops.track(loops.mkdir(`mnt-${fsType}`));
      expect(await mounter.isMountPoint(target)).toBe(false);
      await mounter.mount(device, target, fsType, ["noatime"]);
      const [entry, ...more] = await mounter.mountsOf(target);
      expect(more).toEqual([]);
      expect(entry?.fsType).toBe(fsType);
      expect(entry?.mountOptions).toContain("noatime");
      writeFileSync(join(target, "hello.txt"), "data survives");
      await mounter.unmount(target);
      expect(await mounter.isMountPoint(target)).toBe(false);
      await mounter.unmount(target); // idempotent

      await mounter.mount(device, target, fsType, []);
      expect(readFileSync(join(target, "hello.txt"), "utf8")).toBe("data survives");
      await mounter.unmount(target);
    });
  }

  it("a mount the kernel refuses for an option it accepts by name (dax=always on a loop device) is INVALID_ARGUMENT naming the options", async () => {
    const { device } = loops.create(64 * MiB);
    await formatter.format(device, "ext4");
    const target = loops.track(loops.mkdir("mnt-dax"));
    const refused = mounter.mount(device, target, "ext4", ["noatime", "dax=always"]);
    await expect(refused).rejects.toThrow(InvalidArgumentError);
    await expect(refused).rejects.toThrow(/with options "noatime", "dax=always" failed; the kernel refuses one of them for ext4/);
    expect(await mounter.isMountPoint(target)).toBe(false);
  });

  it("a read-only bind mount refuses writes while the source stays writable", async () => {
    const { device } = loops.create(64 * MiB);
    await formatter.format(device, "ext4");
    const staging = loops.track(loops.mkdir("staging"));
    const publish = loops.track(loops.mkdir("publish"));
    await mounter.mount(device, staging, "ext4", []);
    await mounter.bindMount(staging, publish, { readonly: true });
    expect((await mounter.mountsOf(publish))[0]?.mountOptions).toContain("ro");
    expect(() => writeFileSync(join(publish, "x"), "no")).toThrow(/EROFS/);
    writeFileSync(join(staging, "y"), "yes");
    expect(readFileSync(join(publish, "y"), "utf8")).toBe("yes");
    await mounter.unmount(publish);
    await mounter.unmount(staging);
    expect(await mounter.isMountPoint(staging)).toBe(false);
  });

  it("a busy target is not unmounted unless the device is dead (then lazily)", async () => {
    const { device } = loops.create(64 * MiB);
    await formatter.format(device, "ext4");
    const target = loops.track(loops.mkdir("busy"));
    await mounter.mount(device, target, "ext4", []);
    // A process whose working directory is on the mount keeps it busy.
    const holder = (await import("node:child_process")).spawn("sleep", ["30"], { cwd: target, stdio: "ignore" });
    try {
      await new Promise((r) => setTimeout(r, 200));
      await expect(mounter.unmount(target)).rejects.toThrow(FailedPreconditionError);
      expect(await mounter.isMountPoint(target)).toBe(true);
      await mounter.unmount(target, { deviceDead: true });
      expect(await mounter.isMountPoint(target)).toBe(false);
    } finally {
      holder.kill("SIGKILL");
      await new Promise((r) => holder.once("exit", r));
    }
  });

  // Online ext4 growth (EXT4_IOC_RESIZE_FS) needs CAP_SYS_RESOURCE, which some sandboxes drop even
  // for root (resize2fs then says "Permission denied to resize filesystem"); the node plugin runs
  // privileged and has it. Without it, the same resizer is exercised offline below.
  (hasCapability(CAP_SYS_RESOURCE) ? it : it.skip)("grows ext4 online after the backing file and loop device grow", async () => {
    const { device, file } = loops.create(64 * MiB);
    await formatter.format(device, "ext4");
    const target = loops.track(loops.mkdir("grow"));
    await mounter.mount(device, target, "ext4", []);
    const before = statfsSync(target);
    truncateSync(file, 256 * MiB);
    execFileSync("losetup", ["-c", device]);
    await resizer.grow("ext4", device, target);
    const after = statfsSync(target);
    expect(after.blocks * after.bsize).toBeGreaterThan(3 * before.blocks * before.bsize);
    appendFileSync(join(target, "after-grow"), "ok");
    await mounter.unmount(target);
  });

  it("grows ext4 (offline, after e2fsck) and statfs shows the new size once mounted", async () => {
    const { device, file } = loops.create(64 * MiB);
    await formatter.format(device, "ext4");
    const target = loops.track(loops.mkdir("grow-offline"));
    await mounter.mount(device, target, "ext4", []);
    const before = statfsSync(target);
    await mounter.unmount(target);
    truncateSync(file, 256 * MiB);
    execFileSync("losetup", ["-c", device]);
    execFileSync("e2fsck", ["-f", "-y", device], { stdio: "ignore" });
    await resizer.grow("ext4", device, undefined);
    await mounter.mount(device, target, "ext4", []);
    const after = statfsSync(target);
    expect(after.blocks * after.bsize).toBeGreaterThan(3 * before.blocks * before.bsize);
    await mounter.unmount(target);
  });

  it("grows xfs online through its mount point", async () => {
    const { device, file } = loops.create(320 * MiB);
    await formatter.format(device, "xfs");
    const target = loops.track(loops.mkdir("grow-xfs"));
    await mounter.mount(device, target, "xfs", []);
    const before = statfsSync(target);
    truncateSync(file, 640 * MiB);
    execFileSync("losetup", ["-c", device]);
    await expect(resizer.grow("xfs", device, undefined)).rejects.toThrow(FailedPreconditionError);
    await resizer.grow("xfs", device, target);
    const after = statfsSync(target);
    expect(after.blocks * after.bsize).toBeGreaterThan(1.5 * before.blocks * before.bsize);
    await mounter.unmount(target);
  });
});

describe("ExecMounter argument checks", () => {
  it("refuses relative paths and bad options before running anything", async () => {
    const runs: string[] = [];
    const m = new ExecMounter({ run: async (file) => { runs.push(file); return { code: 0, signal: null, stdout: "", stderr: "", durationMs: 0 }; } });
    await expect(m.mount("-oremount", "/mnt", "ext4", [])).rejects.toThrow(/absolute/);
    await expect(m.mount("/dev/x", "/mnt", "ext4", ["a,b"])).rejects.toThrow(/comma/);
    await expect(m.mount("/dev/x", "/mnt", "ext4; rm", [])).rejects.toThrow(/fs type/);
    expect(runs).toEqual([]);
  });
});

describe("ExecMounter unmount under the caller's signal", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rds-csi-unmount-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("hands the signal to umount and ends the pause between attempts when the caller gives up", async () => {
    const mountInfoPath = join(dir, "mountinfo");
    writeFileSync(mountInfoPath, "36 35 259:3 / /var/lib/kubelet/staging rw,relatime shared:1 - ext4 /dev/nvme1n1 rw\n");
    const caller = new AbortController();
    const reason = new Error("the caller gave up");
    const runs: (AbortSignal | undefined)[] = [];
    const busy = new ExecMounter(
      {
        run: async (_file, _args, options) => {
          runs.push(options.signal);
          setImmediate(() => caller.abort(reason)); // during the pause that follows
          return { code: 32, signal: null, stdout: "", stderr: "umount: target is busy.", durationMs: 1 };
        },
      },
      // A pause no caller waits out: only the abort ends it.
      { mountInfoPath, unmountAttempts: 3, unmountRetryDelayMs: 3_600_000 },
    );
    await expect(busy.unmount("/var/lib/kubelet/staging", { signal: caller.signal })).rejects.toBe(reason);
    expect(runs).toEqual([caller.signal]);
  });
});
