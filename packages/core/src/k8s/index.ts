// @rds-csi/core/k8s: Kubernetes API access. A subpath of its own because @kubernetes/client-node
// costs about 80 MB of RSS when loaded; services that never talk to the API server do not pay for it.
export * from "./kube-client.js";
export * from "./kube-request.js";
export * from "./deadline-watch.js";
export * from "./relisting-informer.js";
export * from "./timestamp.js";
export * from "./event-recorder.js";
export * from "./host-nqn-annotation.js";
