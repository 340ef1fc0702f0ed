import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Test support: real loop devices over sparse files; `cleanup()` unmounts and detaches everything. */
export class LoopDevices {
  readonly dir = mkdtempSync(join(tmpdir(), "rds-csi-loop-"));
  private readonly devices: string[] = [];
  private readonly mounts: string[] = [];

  static available(): boolean {
    if (process.getuid?.() !== 0) return false;
    try {
      execFileSync("losetup", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  }

  create(sizeBytes: number): { device: string; file: string } {
    const file = join(this.dir, `backing-${this.devices.length}.img`);
    writeFileSync(file, "");
    truncateSync(file, sizeBytes);
    const device = execFileSync("losetup", ["--find", "--show", file], { encoding: "utf8" }).trim();
    this.devices.push(device);
    return { device, file };
  }

  mkdir(name: string): string {
    const path = join(this.dir, name);
    execFileSync("mkdir", ["-p", path]);
    return path;
  }

  /** Records a mount point for cleanup. */
  track(mountPoint: string): string {
    this.mounts.push(mountPoint);
    return mountPoint;
  }

  cleanup(): void {
    for (const mountPoint of this.mounts.reverse()) {
      for (let i = 0; i < 4; i++) {
        try {
          execFileSync("umount", [mountPoint], { stdio: "ignore" });
        } catch {
          break;
        }
      }
    }
    for (const device of this.devices) {
      try {
        execFileSync("losetup", ["-d", device], { stdio: "ignore" });
      } catch {
        // already detached
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
