import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/dist-test/**", "**/node_modules/**", "packages/core/src/csi/generated/**", "reports/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", URL: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", performance: "readonly", AbortController: "readonly", AbortSignal: "readonly", DOMException: "readonly", fetch: "readonly", structuredClone: "readonly", queueMicrotask: "readonly" } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    // Production code never depends on test-only packages (ARCHITECTURE.md, "A directory is a boundary").
    files: ["packages/*/src/**/*.ts"],
    // Unit tests beside the code, benchmarks and the testkit itself are where test code belongs; rigs
    // and integration tests live in each package's test/ (testkit/src/shipped-packages.test.ts checks the build).
    ignores: ["**/*.test.ts", "**/*.bench.ts", "packages/testkit/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["@rds-csi/testkit", "@rds-csi/rds-simulator"], message: "test-only package" },
            { group: ["**/test/**"], message: "test code: production code never imports a package's test/ tree" },
          ],
        },
      ],
    },
  },
);
