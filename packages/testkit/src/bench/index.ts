export * from "./figure.js";
export * from "./bench-results.js";
export * from "./report-markdown.js";
export * from "./report-svg.js";
export * from "./serial-bound.js";
