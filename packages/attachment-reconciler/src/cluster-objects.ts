import type { KubeObject } from "@rds-csi/core/k8s";

// The fields of Nodes and node Leases the reconciler reads, as they arrive in JSON (core/k8s types
// Nodes only for their annotations, since no other service reads more of them).

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
  readonly timeAdded?: string;
}

export interface NodeCondition {
  readonly type: string;
  readonly status: string;
}

export interface ClusterNode extends KubeObject {
  readonly spec?: { readonly taints?: readonly Taint[] };
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

/** The taint of Kubernetes' non-graceful node shutdown (KEP-2268, GA in 1.28). */
export const OUT_OF_SERVICE_TAINT: Taint = Object.freeze({ key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute" });

/** "True", "False" or "Unknown"; a node without a Ready condition has never reported and counts as Unknown. */
export function readiness(node: ClusterNode): string {
  return node.status?.conditions?.find((condition) => condition.type === "Ready")?.status ?? "Unknown";
}

export function hasOutOfServiceTaint(node: ClusterNode): boolean {
  return (node.spec?.taints ?? []).some((taint) => taint.key === OUT_OF_SERVICE_TAINT.key && taint.effect === OUT_OF_SERVICE_TAINT.effect);
}

/** Whether the kubelet reports `volumeHandle` of `driver` as mounted on the node. */
export function volumeInUse(node: ClusterNode, driver: string, volumeHandle: string): boolean {
  return (node.status?.volumesInUse ?? []).includes(`kubernetes.io/csi/${driver}^${volumeHandle}`);
}

export function nameOf(object: KubeObject): string {
  return object.metadata?.name ?? "";
}
