import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeEntryPoint } from "@rds-csi/testkit";

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

describeEntryPoint({
  mainPath: fileURLToPath(new URL("../../dist/main.js", import.meta.url)),
  program: "rds-csi-attachment-reconciler",
  version: packageJson.version,
});
