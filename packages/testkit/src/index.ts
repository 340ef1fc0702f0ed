// Test-only helpers; production code never imports this package.
export * from "./csi-client.js";
export * from "./http2-grpc-channel.js";
export * from "./entry-point-contract.js";
export * from "./as-root.js";
export * from "./service-process.js";
export * from "./free-port.js";
export * from "./scrape-metrics.js";
export * from "./shipped-package.js";
export * from "./latency-stats.js";
export * from "./fake-apiserver/index.js";
export * from "./fake-nvme/index.js";
export * from "./stand-ins/index.js";
export * from "./bench/index.js";
export * from "./system/index.js";
export * from "./free-port.js";
export * from "./retry-when-loaded.js";
