// The RouterOS layer of @rds-csi/core, a subpath of its own: ssh2 and cockatiel cost the node plugin
// ~10 MB RSS, and it never talks to the RDS (its self-check loads this lazily).
export * from "./rds-client.js";
export * from "./routeros-rds-client.js";
export * from "./ssh-transport.js";
export * from "./ssh2-transport.js";
export * from "./rds-connection-settings.js";
export * from "./create-rds-client.js";
export * from "./host-key-verifier.js";
export * from "./disk-comment.js";
export * from "./export-allow-list.js";
export { parsePrintDetail, type RouterOsRecord } from "./parse-print-detail.js";
export { parseKeyValueLines } from "./parse-key-value-lines.js";
