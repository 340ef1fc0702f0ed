// Tests are compiled by `tsc --build` first and run as native ESM (our packages and
// @kubernetes/client-node are ESM-only), so jest transforms nothing.
export default {
  testEnvironment: "node",
  transform: {},
  testMatch: ["<rootDir>/packages/*/dist/**/*.test.js", "<rootDir>/packages/*/dist-test/**/*.test.js"],
  testPathIgnorePatterns: ["/node_modules/"],
  testTimeout: 30000,
  maxWorkers: 2,
};
