/**
 * Names and places of the fake fabric's sysfs entries, mirroring the Linux kernel with native NVMe
 * multipath (`nvme_core.multipath=Y`, the distributions' default):
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

export function headDiskDir(subsystem: number, nsid: number): string {
  return `${subsystemDir(subsystem)}/${headDiskName(subsystem, nsid)}`;
}

export function pathDiskDir(subsystem: number, controller: number, nsid: number): string {
  return `${controllerDir(controller)}/${pathDiskName(subsystem, controller, nsid)}`;
}
