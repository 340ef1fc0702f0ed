import { csi, InvalidArgumentError } from "@rds-csi/core";
import type { PersistentVolume } from "@rds-csi/core/k8s";

const Mode = csi.VolumeCapability_AccessMode_Mode;

/**
 * How many nodes a volume may be published to at once.
 * - `single-node`: one node (RWO, RWOP, and MULTI_NODE_SINGLE_WRITER, which we do not split into one
 *   writer plus readers: one writer is only guaranteed if there is one node).
 * - `migration`: two nodes, for a KubeVirt live migration of a raw block RWX volume; QEMU hands the
 *   disk over, so both sides are never writing at once. Never more: a third node has no such partner.
 * - `readers`: any number of nodes, none of them writing (MULTI_NODE_READER_ONLY).
 */
export type AccessPolicy =
  | { readonly kind: "single-node"; readonly maxNodes: 1 }
  | { readonly kind: "migration"; readonly maxNodes: 2 }
  | { readonly kind: "readers"; readonly maxNodes: number };

export const SINGLE_NODE: AccessPolicy = Object.freeze({ kind: "single-node", maxNodes: 1 });
export const MIGRATION: AccessPolicy = Object.freeze({ kind: "migration", maxNodes: 2 });
export const READERS: AccessPolicy = Object.freeze({ kind: "readers", maxNodes: Number.POSITIVE_INFINITY });

/** The policy a ControllerPublishVolume capability asks for; InvalidArgumentError names what is wrong. */
export function accessPolicyFor(capability: csi.VolumeCapability | undefined): AccessPolicy {
  const mode = capability?.accessMode?.mode;
  switch (mode) {
    case Mode.SINGLE_NODE_WRITER:
    case Mode.SINGLE_NODE_READER_ONLY:
    case Mode.SINGLE_NODE_SINGLE_WRITER:
    case Mode.SINGLE_NODE_MULTI_WRITER:
    case Mode.MULTI_NODE_SINGLE_WRITER:
      return SINGLE_NODE;
    case Mode.MULTI_NODE_READER_ONLY:
      return READERS;
    case Mode.MULTI_NODE_MULTI_WRITER:
      // A filesystem written from two nodes is corrupted; only raw block, coordinated by QEMU, is safe.
      if (capability?.block === undefined) {
        throw new InvalidArgumentError("volume_capability: MULTI_NODE_MULTI_WRITER is supported for block access only");
      }
      return MIGRATION;
    default:
      throw new InvalidArgumentError("volume_capability.access_mode.mode is missing or unknown");
  }
}

/**
 * The policy of a volume judged from its PersistentVolume, for calls that carry no capability
 * (ControllerUnpublish, the migration monitor). It follows how the external-attacher turns a PV's
 * access modes into the capability it publishes with: RWX wins, then RWO (alone or with ROX) is one
 * writer, and ROX alone is readers. Without a PV the strictest policy applies.
 */
export function accessPolicyOfPersistentVolume(pv: PersistentVolume | undefined): AccessPolicy {
  const modes = new Set(pv?.spec?.accessModes ?? []);
  if (modes.has("ReadWriteMany")) return pv?.spec?.volumeMode === "Block" ? MIGRATION : SINGLE_NODE;
  if (modes.size === 1 && modes.has("ReadOnlyMany")) return READERS;
  return SINGLE_NODE;
}
