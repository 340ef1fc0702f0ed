import { FailedPreconditionError } from "@rds-csi/core";
import { assertAbsolutePath, type Mounter, type UnmountOptions } from "../../src/mount/mounter.js";
import type { MountInfoEntry } from "../../src/mount/parse-mountinfo.js";

/**
 * In-memory `Mounter` for node-service tests. It keeps the real contract: mounts stack per target,
 * unmount removes the top one and is a no-op on a non-mount, and a target marked busy refuses a plain
 * unmount unless the caller says the device is dead.
 */
export class FakeMounter implements Mounter {
  private readonly table: MountInfoEntry[] = [];
  private nextId = 100;
  readonly busy = new Set<string>();

  async mount(source: string, target: string, fsType: string, options: readonly string[]): Promise<void> {
    assertAbsolutePath("mount source", source);
    assertAbsolutePath("mount target", target);
    this.add(source, target, fsType, [...options], "/");
  }

  async bindMount(source: string, target: string, options: { readonly readonly: boolean }): Promise<void> {
    assertAbsolutePath("bind source", source);
    assertAbsolutePath("bind target", target);
    const under = this.table.findLast((entry) => entry.mountPoint === source);
    this.add(under?.source ?? source, target, under?.fsType ?? "none", [options.readonly ? "ro" : "rw"], "/");
  }

  async unmount(target: string, options: UnmountOptions = {}): Promise<void> {
    assertAbsolutePath("unmount target", target);
    options.signal?.throwIfAborted();
    const index = this.table.findLastIndex((entry) => entry.mountPoint === target);
    if (index < 0) return;
    if (this.busy.has(target) && !options.deviceDead) throw new FailedPreconditionError(`unmount of ${target}: target is busy`);
    this.table.splice(index, 1);
  }

  async mountsOf(target: string): Promise<MountInfoEntry[]> {
    return this.table.filter((entry) => entry.mountPoint === target);
  }

  async mountTable(): Promise<MountInfoEntry[]> {
    return [...this.table];
  }

  async isMountPoint(target: string): Promise<boolean> {
    return this.table.some((entry) => entry.mountPoint === target);
  }

  private add(source: string, target: string, fsType: string, options: string[], root: string): void {
    const id = this.nextId++;
    this.table.push({
      mountId: id, parentId: 1, major: 0, minor: id, majorMinor: `0:${id}`, root, mountPoint: target,
      mountOptions: options, optionalFields: [], fsType, source, superOptions: [],
    });
  }
}
