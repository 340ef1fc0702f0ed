import { ProcessExec } from "@rds-csi/core";
import { ExecMounter } from "../../src/mount/exec-mounter.js";
import type { MountInfoEntry } from "../../src/mount/parse-mountinfo.js";

/** This host's mount table, read through the plugin's own door to it (the real ExecMounter). */
export function readMountTable(): Promise<MountInfoEntry[]> {
  return new ExecMounter(new ProcessExec()).mountTable();
}
