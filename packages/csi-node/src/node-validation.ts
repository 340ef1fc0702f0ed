import { isAbsolute } from "node:path";
import { InvalidArgumentError, type csi } from "@rds-csi/core";

export function requireField(name: string, value: string): string {
  if (value === "") throw new InvalidArgumentError(`${name} is required`);
  return value;
}

export function requireAbsolutePath(name: string, value: string): string {
  requireField(name, value);
  if (!isAbsolute(value) || value.split("/").includes("..")) throw new InvalidArgumentError(`${name} must be an absolute path without "..", got ${JSON.stringify(value)}`);
  return value;
}

export type AccessType = { readonly kind: "block" } | { readonly kind: "mount"; readonly fsType: string; readonly mountFlags: readonly string[] };

/** The access type of a capability: exactly one of block and mount. */
export function accessTypeOf(capability: csi.VolumeCapability | undefined): AccessType {
  if (capability === undefined) throw new InvalidArgumentError("volume_capability is required");
  if (capability.accessMode === undefined) throw new InvalidArgumentError("volume_capability.access_mode is required");
  if (capability.block !== undefined && capability.mount !== undefined) throw new InvalidArgumentError("volume_capability must be block or mount, not both");
  if (capability.block !== undefined) return { kind: "block" };
  if (capability.mount !== undefined) return { kind: "mount", fsType: capability.mount.fsType, mountFlags: capability.mount.mountFlags };
  throw new InvalidArgumentError("volume_capability needs block or mount access");
}
