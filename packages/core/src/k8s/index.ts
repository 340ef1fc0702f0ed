// @rds-csi/core/k8s: Kubernetes API access. A subpath of its own so that services which never talk to
// the API server load none of it; it is a small HTTP client of our own (docs/design/kube-client.md).
export * from "./kube-objects.js";
export * from "./kube-connection.js";
export * from "./kube-config-source.js";
export * from "./kube-request.js";
export * from "./kube-client.js";
export * from "./json-patch-ops.js";
export * from "./deadline-watch.js";
export * from "./relisting-informer.js";
export * from "./work-queue.js";
export * from "./leader-election.js";
export * from "./timestamp.js";
export * from "./event-recorder.js";
export * from "./node-annotation.js";
export * from "./host-nqn-annotation.js";
export * from "./node-fence-annotations.js";
export * from "./node-fence.js";
export * from "./volume-attachment-name.js";
