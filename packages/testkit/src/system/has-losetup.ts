import { execFileSync } from "node:child_process";

/** Whether util-linux's losetup runs here: loop devices stand in for NVMe namespaces in the fake fabric. */
export function hasLosetup(): boolean {
  try {
    execFileSync("losetup", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
