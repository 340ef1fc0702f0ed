import type { FabricLayout } from "./fabric-state.js";

/**
 * Names and places of the fake fabric's sysfs entries, mirroring the Linux kernel. With native NVMe
 * multipath (`nvme_core.multipath=Y`, the distributions' default, and a target advertising CMIC):
 *
 * - controller `nvmeC` (one per fabric connection): `devices/virtual/nvme-fabrics/ctl/nvmeC/`, linked
 *   from `class/nvme/nvmeC`;
 * - subsystem `nvme-subsysS`: `devices/virtual/nvme-subsystem/nvme-subsysS/` with a link `nvmeC` to each
 *   of its controllers, linked from `class/nvme-subsystem/nvme-subsysS`. As in the kernel, S is the
 *   instance of the controller that created the subsystem, so it differs from C once a second path
 *   joins or a controller is renumbered;
 * - namespace head (the visible disk) `nvmeSnN` (N = nsid): `devices/virtual/nvme-subsystem/nvme-subsysS/nvmeSnN/`,
 *   linked from `class/block/` and `block/`; it alone has a device node (`<devroot>/nvmeSnN`) and a `dev`;
 * - hidden per-path disk `nvmeScCnN`: `devices/virtual/nvme-fabrics/ctl/nvmeC/nvmeScCnN/`, linked from
 *   `class/block/` and `block/`; no `dev` attribute and no device node.
 *
 * Without a head (layouts "no-cmic" and "no-multipath", see FabricLayout) the controller's own disk is
 * the visible one, under the controller's directory (core.c nvme_alloc_ns adds it with the controller's
 * device as parent), named after the subsystem ("no-cmic") or the controller ("no-multipath").
 * N is the namespace head's instance, not the nsid.
 */
export function controllerName(instance: number): string {
  return `nvme${instance}`;
}

export function subsystemName(instance: number): string {
  return `nvme-subsys${instance}`;
}

export function headDiskName(subsystem: number, nsid: number): string {
  return `nvme${subsystem}n${nsid}`;
}

export function pathDiskName(subsystem: number, controller: number, nsid: number): string {
  return `nvme${subsystem}c${controller}n${nsid}`;
}

export const CONTROLLERS_DIR = "devices/virtual/nvme-fabrics/ctl";
export const SUBSYSTEMS_DIR = "devices/virtual/nvme-subsystem";

export function controllerDir(instance: number): string {
  return `${CONTROLLERS_DIR}/${controllerName(instance)}`;
}

export function subsystemDir(instance: number): string {
  return `${SUBSYSTEMS_DIR}/${subsystemName(instance)}`;
}

export function pathDiskDir(subsystem: number, controller: number, nsid: number): string {
  return `${controllerDir(controller)}/${pathDiskName(subsystem, controller, nsid)}`;
}

/** The visible disk of a namespace: its name, and the controller holding it (undefined: a head). */
export function visibleDisk(layout: FabricLayout, subsystem: number, controller: number, instance: number): { name: string; controller: number | undefined } {
  switch (layout) {
    case "native-multipath":
      return { name: headDiskName(subsystem, instance), controller: undefined };
    case "no-cmic":
      return { name: headDiskName(subsystem, instance), controller };
    case "no-multipath":
      return { name: headDiskName(controller, instance), controller };
  }
}

/** Where the visible disk's directory is. */
export function visibleDiskDir(subsystem: number, disk: { readonly name: string; readonly controller: number | undefined }): string {
  return disk.controller === undefined ? `${subsystemDir(subsystem)}/${disk.name}` : `${controllerDir(disk.controller)}/${disk.name}`;
}
