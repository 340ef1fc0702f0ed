// Tests are compiled by `tsc --build` first and run as native ESM (our packages and
// @kubernetes/client-node are ESM-only), so jest transforms nothing.
export default {
  testEnvironment: "node",
  transform: {},
  // The services and core compile their tests apart from the shipped code, into dist-test/; the test-only
  // packages (testkit, rds-simulator) keep theirs in dist/.
  testMatch: ["<rootDir>/packages/*/dist-test/**/*.test.js", "<rootDir>/packages/{testkit,rds-simulator}/dist/**/*.test.js"],
  testPathIgnorePatterns: ["/node_modules/"],
  testTimeout: 30000,
  maxWorkers: 2,
};
