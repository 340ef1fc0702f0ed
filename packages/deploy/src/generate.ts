// Writes the generated files the repository ships: the chart's Grafana dashboard. The tests fail when a
// committed copy differs from what this writes, with the command to run: `pnpm --filter @rds-csi/deploy generate`.
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dashboardJson } from "./generated-files.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
for (const [path, content] of Object.entries({ "charts/rds-csi/dashboards/rds-csi.json": dashboardJson() })) {
  await writeFile(root + path, content);
  console.log(`wrote ${path}`);
}
