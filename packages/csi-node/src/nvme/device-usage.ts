import { constants } from "node:fs";
import { open } from "node:fs/promises";
import type { DeviceResolver } from "./device-identity.js";
import type { DeviceState } from "./disconnect-policy.js";
import type { Sysfs } from "./sysfs.js";

/** What the kernel says uses a subsystem's block device; `undefined` where it could not be read. */
export interface DeviceUsage {
  readonly device: DeviceState | undefined;
  readonly holders: readonly string[] | undefined;
  readonly exclusivelyOpened: boolean | undefined;
}

/**
 * Reads the device of `nqn`, its holders, and whether something holds it open exclusively. The last
 * one sees what the mount table cannot: a filesystem mounted in another mount namespace (a container
 * that kept a private copy of the mount) still holds the block device exclusively, and an O_EXCL open
 * then fails with EBUSY.
 */
export async function readDeviceUsage(resolver: Pick<DeviceResolver, "resolve">, sysfs: Pick<Sysfs, "list">, nqn: string): Promise<DeviceUsage & { readonly error?: unknown }> {
  let identity;
  try {
    identity = await resolver.resolve(nqn);
  } catch (error) {
    return { device: undefined, holders: undefined, exclusivelyOpened: undefined, error };
  }
  if (identity === undefined) return { device: { kind: "absent" }, holders: [], exclusivelyOpened: false };
  const device: DeviceState = { kind: "present", majorMinor: identity.majorMinor, devicePath: identity.devicePath };
  const holders = await sysfs.list(`class/block/${identity.name}/holders`).catch(() => undefined);
  return { device, holders, exclusivelyOpened: await isOpenedExclusively(identity.devicePath) };
}

/** true: EBUSY on an O_EXCL open; false: the open succeeded; undefined: the device could not be opened. */
export async function isOpenedExclusively(devicePath: string): Promise<boolean | undefined> {
  try {
    await (await open(devicePath, constants.O_RDONLY | constants.O_EXCL | constants.O_NONBLOCK)).close();
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EBUSY" ? true : undefined;
  }
}
