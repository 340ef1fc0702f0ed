import type { KubeNode, KubeObject } from "@rds-csi/core/k8s";

// The fields of Nodes and node Leases the reconciler reads, as they arrive in JSON (core/k8s types
// Nodes only for their annotations and taints, since no other service reads more of them).

export interface NodeCondition {
  readonly type: string;
  readonly status: string;
}

export interface ClusterNode extends KubeNode {
  readonly status?: {
    readonly conditions?: readonly NodeCondition[];
    /** `kubernetes.io/csi/<driver>^<volume handle>` per volume the kubelet has mounted */
    readonly volumesInUse?: readonly string[];
  };
}

/** coordination.k8s.io/v1 Lease as kubelet renews it in kube-node-lease (one per node, named after it). */
export interface NodeLease extends KubeObject {
  readonly spec?: { readonly holderIdentity?: string; readonly renewTime?: string; readonly leaseDurationSeconds?: number };
}

/** Events about cluster-scoped objects (Nodes, VolumeAttachments, PVs) go to `default`, as kubelet's Node events do. */
export const EVENT_NAMESPACE = "default";

/** "True", "False" or "Unknown"; a node without a Ready condition has never reported and counts as Unknown. */
export function readiness(node: ClusterNode): string {
  return node.status?.conditions?.find((condition) => condition.type === "Ready")?.status ?? "Unknown";
}

/** Whether the kubelet reports `volumeHandle` of `driver` as mounted on the node. */
export function volumeInUse(node: ClusterNode, driver: string, volumeHandle: string): boolean {
  return (node.status?.volumesInUse ?? []).includes(`kubernetes.io/csi/${driver}^${volumeHandle}`);
}

export function nameOf(object: KubeObject): string {
  return object.metadata?.name ?? "";
}
