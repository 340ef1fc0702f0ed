// Writes the generated files the repository ships: the chart's Grafana dashboard and the configuration
// reference. Tests fail when a committed copy differs, naming this command: `pnpm --filter @rds-csi/deploy generate`.
import { writeFile } from "node:fs/promises";
import { generatedFiles } from "./generated-files.js";
import { repoRoot } from "./repo-root.js";

const root = repoRoot();
for (const [path, content] of Object.entries(await generatedFiles())) {
  await writeFile(root + path, content);
  console.log(`wrote ${path}`);
}
