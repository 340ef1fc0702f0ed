import type { Sysfs } from "./sysfs.js";

/**
 * Every block device sysfs lists, by its `MAJ:MIN` (→ the device names carrying it; one, unless sysfs
 * changes under the scan). The one answer to "does a device with this number still exist?".
 */
export async function readBlockDeviceNumbers(sysfs: Pick<Sysfs, "list" | "read">): Promise<Map<string, string[]>> {
  const byNumber = new Map<string, string[]>();
  for (const name of await sysfs.list("class/block")) {
    const dev = await sysfs.read(`class/block/${name}/dev`);
    if (dev === undefined) continue;
    const names = byNumber.get(dev);
    if (names === undefined) byNumber.set(dev, [name]);
    else names.push(name);
  }
  return byNumber;
}
