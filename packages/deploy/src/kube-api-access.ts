/**
 * The Kubernetes API calls each service's own code makes (not its sidecars'), by API group, resource and
 * verb — the list the chart's driver ClusterRoles must equal, no more and no less. Read from the
 * services' code paths (core/k8s KubeClient, RelistingInformer, KubeEventRecorder, annotateNode); the
 * RBAC test compares it with the rendered rules, and with the fake API server's per-client recording
 * of what the services really sent.
 */
export interface ApiAccess {
  /** "" for the core group */
  readonly group: string;
  /** plural, with "/subresource" when one is used */
  readonly resource: string;
  readonly verbs: readonly string[];
  /** absent: any namespace or cluster-scoped (a ClusterRole); "release": the release's own namespace; else that namespace (a Role) */
  readonly namespace?: string;
  /** the code that makes the call */
  readonly by: string;
}

export const SERVICE_API_ACCESS: Readonly<Record<"controller" | "node" | "reconciler", readonly ApiAccess[]>> = {
  controller: [
    { group: "storage.k8s.io", resource: "volumeattachments", verbs: ["list", "watch"], by: "publish/index.ts: the arbiter's VolumeAttachment informer" },
    { group: "", resource: "persistentvolumes", verbs: ["list", "watch"], by: "publish/index.ts: PV informer; claim-lookup.ts: list" },
    { group: "storage.k8s.io", resource: "csinodes", verbs: ["get"], by: "publish/node-directory.ts: the node's driver id" },
    { group: "", resource: "nodes", verbs: ["get"], by: "publish/node-directory.ts: the node's host NQN annotation" },
    { group: "", resource: "persistentvolumeclaims", verbs: ["get"], by: "claim-lookup.ts: the claim an event is posted on" },
    { group: "", resource: "events", verbs: ["create"], by: "core/k8s/event-recorder.ts" },
  ],
  node: [
    {
      group: "",
      resource: "nodes",
      verbs: ["get", "patch"],
      by: "host-nqn-publisher.ts → core/k8s/node-annotation.ts: merge patch of the host NQN annotation; fence-cleanup-reporter.ts: reads its Node's fence record, writes the clean-up annotation",
    },
    { group: "storage.k8s.io", resource: "volumeattachments", verbs: ["get"], by: "volume-attachment-check.ts: is the volume still attached here, before reconnecting a lost controller" },
  ],
  reconciler: [
    { group: "", resource: "nodes", verbs: ["list", "watch", "patch"], by: "informer-cluster-view.ts: Node informer; kube-cluster-writes.ts: taint (JSON patch), fence record (merge patch)" },
    { group: "coordination.k8s.io", resource: "leases", verbs: ["list", "watch"], namespace: "kube-node-lease", by: "informer-cluster-view.ts: the kubelets' node Leases" },
    { group: "coordination.k8s.io", resource: "leases", verbs: ["get", "create", "update"], namespace: "release", by: "core/k8s/leader-election.ts: its own leader Lease" },
    { group: "storage.k8s.io", resource: "volumeattachments", verbs: ["list", "watch", "patch", "delete"], by: "informer-cluster-view.ts; kube-cluster-writes.ts: delete with uid precondition, finalizer removal (JSON patch)" },
    { group: "", resource: "persistentvolumes", verbs: ["list", "watch"], by: "informer-cluster-view.ts: PV informer" },
    { group: "", resource: "events", verbs: ["create"], by: "start-reconciler.ts → core/k8s/event-recorder.ts" },
  ],
};
