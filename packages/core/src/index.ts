// The public surface of @rds-csi/core: what two or more services need. Kubernetes access and the
// RouterOS layer are subpaths of their own (@rds-csi/core/k8s, @rds-csi/core/routeros), so a service
// loads them only when it uses them.
export * from "./errors.js";
export * from "./exec.js";
export * from "./exec-errors.js";
export * from "./lifecycle.js";
export * from "./config/settings.js";
export * from "./config/load-config.js";
export * from "./config/help.js";
export * from "./config/describe-config.js";
export * from "./csi/call-context.js";
export * from "./csi/endpoint.js";
export * from "./csi/error-status.js";
export * from "./csi/grpc-server.js";
export * from "./csi/identity-service.js";
export * from "./csi/plugin-capabilities.js";
export * from "./csi/unary-handler.js";
export * from "./csi/request-limits.js";
// Shown in messages of every layer, not only RouterOS's.
export { printableExcerpt } from "./routeros/printable-excerpt.js";
export * as csi from "./csi/generated/csi/v1/csi.js";
export * from "./observability/logger.js";
export * from "./observability/metrics.js";
export * from "./observability/health-server.js";
export * from "./resilience/operation-lock.js";
export * from "./runtime/common-settings.js";
export * from "./runtime/run-service.js";
export * from "./resilience/bounded-queue.js";
export * from "./nvme/nqn.js";
export * from "./volume/volume-layout.js";
export * from "./volume/volume-id.js";
export * from "./volume/uuid-v5.js";
export * from "./volume/volume-size.js";
export * from "./volume/fs-type.js";
export * from "./volume/storage-class-parameters.js";
export * from "./volume/volume-context.js";
export * from "./volume/publish-context.js";
export * from "./volume/mount-options.js";
export * from "./resilience/keyed-sequencer.js";
export * from "./resilience/with-deadline.js";
export * from "./resilience/until-aborted.js";
export * from "./resilience/abortable-sleep.js";
export * from "./resilience/backoff.js";
