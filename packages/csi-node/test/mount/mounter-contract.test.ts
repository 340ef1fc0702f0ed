import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FailedPreconditionError, InternalError, ProcessExec } from "@rds-csi/core";
import { describeAsRoot } from "@rds-csi/testkit";
import { ExecMounter } from "../../src/mount/exec-mounter.js";
import type { Mounter } from "../../src/mount/mounter.js";
import { KernelDeviceNodes, type DeviceNodes } from "../../src/nvme/device-nodes.js";
import { FakeMounter } from "../support/fake-mounter.js";
import { LoopDevices } from "../support/loop-device.js";
import { VirtualDeviceNodes, VirtualDisks } from "../support/virtual-devices.js";

// The FakeMounter against mount(8) and the kernel: the same cases, once over a virtual disk and the
// FakeMounter (no root), once as root over a loop device and ExecMounter. A case the fake answered more
// kindly than the kernel would fail here as root.

interface Host {
  readonly dir: string;
  readonly mounter: Mounter;
  readonly nodes: DeviceNodes;
  /** a block device of 64 MiB, empty; `formatted()` puts ext4 on it */
  readonly device: string;
  readonly majorMinor: string;
  /** Another node of the same device at `path` (as a second devtmpfs node would be). */
  nodeAt(path: string): void;
  formatted(): void;
  cleanup(): void;
}

const exec = new ProcessExec();
const MiB = 1024 * 1024;

function virtualHost(): Host {
  const dir = mkdtempSync(join(tmpdir(), "rds-csi-fake-mount-"));
  const file = join(dir, "disk.img");
  writeFileSync(file, "");
  truncateSync(file, 64 * MiB);
  const device = join(dir, "nvme7n1");
  symlinkSync(file, device); // as the fake fabric makes a virtual disk's node
  const nodes = new Set([device]);
  const disks = new VirtualDisks({ deviceNumberAt: async (path) => (nodes.has(path) && existsSync(path) ? "259:7" : undefined) }, exec);
  const mounter = new FakeMounter(disks);
  return {
    dir, mounter, nodes: new VirtualDeviceNodes(disks, mounter), device, majorMinor: "259:7",
    nodeAt: (path) => {
      symlinkSync(file, path);
      nodes.add(path);
    },
    formatted: () => execFileSync("mkfs.ext4", ["-q", "-F", file]),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function kernelHost(): Host {
  const loops = new LoopDevices();
  const { device } = loops.create(64 * MiB);
  const mounter = new ExecMounter(exec, { timeoutMs: 20_000, unmountAttempts: 3, unmountRetryDelayMs: 50 });
  return {
    dir: loops.dir, mounter, nodes: new KernelDeviceNodes(), device,
    majorMinor: execFileSync("lsblk", ["-dno", "MAJ:MIN", device], { encoding: "utf8" }).trim(),
    nodeAt: (path) => {
      const [major, minor] = execFileSync("lsblk", ["-dno", "MAJ:MIN", device], { encoding: "utf8" }).trim().split(":");
      execFileSync("mknod", [path, "b", major!, minor!]);
    },
    formatted: () => execFileSync("mkfs.ext4", ["-q", device]),
    cleanup: () => {
      // Whatever a failed case left mounted under the directory, deepest first, then the loop device.
      const mounts = execFileSync("findmnt", ["-rno", "TARGET"], { encoding: "utf8" }).split("\n").filter((m) => m.startsWith(`${loops.dir}/`));
      for (const mountPoint of mounts.reverse()) execFileSync("umount", ["--lazy", mountPoint]);
      loops.cleanup();
    },
  };
}

for (const [title, makeHost, describeIn] of [
  ["FakeMounter over a virtual disk (no root)", virtualHost, describe],
  ["ExecMounter over a loop device", kernelHost, describeAsRoot],
] as const) {
  describeIn(`Mounter contract: ${title}`, () => {
    let host: Host;
    beforeEach(() => {
      host = makeHost();
    });
    afterEach(() => host.cleanup());
    const dir = (name: string): string => {
      const path = join(host.dir, name);
      mkdirSync(path, { recursive: true });
      return path;
    };
    const file = (name: string): string => {
      const path = join(host.dir, name);
      writeFileSync(path, "");
      return path;
    };

    it("refuses a mount point that does not exist or is a file, and a device holding no such filesystem", async () => {
      await expect(host.mounter.mount(host.device, join(host.dir, "missing"), "ext4", [])).rejects.toThrow(/mount point does not exist/);
      host.formatted();
      await expect(host.mounter.mount(host.device, file("a-file"), "ext4", [])).rejects.toThrow(/is not a directory/);
      await expect(host.mounter.mount(host.device, dir("m"), "xfs", [])).rejects.toThrow(/wrong fs type, bad option, bad superblock/);
      expect(await host.mounter.mountTable().then((t) => t.filter((m) => m.mountPoint.startsWith(host.dir)))).toEqual([]);
    });

    it("refuses an empty device and a directory as the source", async () => {
      await expect(host.mounter.mount(host.device, dir("m"), "ext4", [])).rejects.toThrow(InternalError);
      await expect(host.mounter.mount(dir("not-a-device"), dir("m"), "ext4", [])).rejects.toThrow(/not a block device/);
    });

    it("a filesystem mount shows the device's number and root /; it holds the device exclusively until unmounted", async () => {
      host.formatted();
      const staging = dir("staging");
      expect(await host.nodes.openedExclusively(host.device)).toBe(false);
      await host.mounter.mount(host.device, staging, "ext4", []);
      expect(await host.mounter.mountsOf(staging)).toEqual([expect.objectContaining({ majorMinor: host.majorMinor, root: "/", fsType: "ext4" })]);
      expect(await host.nodes.openedExclusively(host.device)).toBe(true);
      await host.mounter.unmount(staging);
      expect(await host.mounter.isMountPoint(staging)).toBe(false);
      expect(await host.nodes.openedExclusively(host.device)).toBe(false);
      await host.mounter.unmount(staging); // not a mount point: already done
    });

    it("a bind shows the device and root of the mount holding its source, read-only when asked; a directory binds only onto a directory", async () => {
      host.formatted();
      const staging = dir("staging");
      await host.mounter.mount(host.device, staging, "ext4", []);
      mkdirSync(join(staging, "sub"));
      const whole = dir("whole");
      const sub = dir("sub-bind");
      await host.mounter.bindMount(staging, whole, { readonly: true });
      await host.mounter.bindMount(join(staging, "sub"), sub, { readonly: false });
      expect((await host.mounter.mountsOf(whole)).at(-1)).toMatchObject({ majorMinor: host.majorMinor, root: "/", mountOptions: expect.arrayContaining(["ro"]) });
      expect((await host.mounter.mountsOf(sub)).at(-1)).toMatchObject({ majorMinor: host.majorMinor, root: "/sub", mountOptions: expect.arrayContaining(["rw"]) });
      await expect(host.mounter.bindMount(staging, file("a-file"), { readonly: false })).rejects.toThrow(InternalError);
      await expect(host.mounter.bindMount(join(host.dir, "no-source"), dir("x"), { readonly: false })).rejects.toThrow(/does not exist/);
      expect(await host.nodes.numberAt(whole)).toBeNull(); // a directory of the filesystem, not a device
      for (const target of [sub, whole, staging]) await host.mounter.unmount(target);
    });

    it("a device node bound onto a file: stat shows the device, mountinfo the node's filesystem; a file never binds onto a directory", async () => {
      const target = file("block-target");
      await host.mounter.bindMount(host.device, target, { readonly: false });
      const mount = (await host.mounter.mountsOf(target)).at(-1)!;
      expect(mount.majorMinor).not.toBe(host.majorMinor);
      expect(mount.root).not.toBe("/");
      expect(await host.nodes.numberAt(target)).toBe(host.majorMinor);
      await expect(host.mounter.bindMount(host.device, dir("block-dir"), { readonly: false })).rejects.toThrow(InternalError);
      await host.mounter.unmount(target);
      expect(await host.nodes.numberAt(target)).toBeNull();
    });

    it("nothing mounts on top of a bind of a device node unlinked since (a deleted disk's node); unmounting it works", async () => {
      const node = join(host.dir, "nvme8n1");
      host.nodeAt(node);
      const target = file("block-target");
      await host.mounter.bindMount(node, target, { readonly: false });
      rmSync(node); // as devtmpfs removes the node of a deleted disk
      await expect(host.mounter.bindMount(host.device, target, { readonly: false })).rejects.toThrow(/mount\(2\) system call failed: No such file or directory/);
      expect(await host.mounter.mountsOf(target)).toHaveLength(1);
      await host.mounter.unmount(target, { deviceDead: true });
      await host.mounter.bindMount(host.device, target, { readonly: false });
      expect(await host.nodes.numberAt(target)).toBe(host.majorMinor);
      await host.mounter.unmount(target);
    });

    it("unmount takes stacked mounts layer by layer; a mount with a mount inside it is busy unless the device is dead (lazy)", async () => {
      host.formatted();
      const staging = dir("staging");
      await host.mounter.mount(host.device, staging, "ext4", []);
      const target = dir("target");
      await host.mounter.bindMount(staging, target, { readonly: false });
      await host.mounter.bindMount(staging, target, { readonly: false });
      expect(await host.mounter.mountsOf(target)).toHaveLength(2);
      await host.mounter.unmount(target);
      expect(await host.mounter.isMountPoint(target)).toBe(false);

      mkdirSync(join(staging, "inner"));
      await host.mounter.bindMount(target, join(staging, "inner"), { readonly: false });
      await expect(host.mounter.unmount(staging)).rejects.toThrow(FailedPreconditionError);
      expect(await host.mounter.isMountPoint(staging)).toBe(true);
      await host.mounter.unmount(staging, { deviceDead: true });
      expect(await host.mounter.isMountPoint(staging)).toBe(false);
      expect(await host.mounter.isMountPoint(join(staging, "inner"))).toBe(false);
    });
  });
}
