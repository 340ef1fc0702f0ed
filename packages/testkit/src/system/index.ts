export * from "./csi-retry.js";
export * from "./system-rig.js";
export * from "./fault-ledger.js";
export * from "./has-losetup.js";
export * from "./rds-env.js";
