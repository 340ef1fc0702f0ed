import { readFile } from "node:fs/promises";
import yaml from "js-yaml";
import { renderChartReadme } from "./chart-readme.js";
import { buildDashboard } from "./dashboard/rds-csi-dashboard.js";
import { repoRoot } from "./repo-root.js";
import { servicesHelp } from "./service-help.js";
import { renderSettingsReference } from "./settings-reference.js";

/** Every generated file the repository ships, by path from the repository root, as the generator writes it. */
export async function generatedFiles(): Promise<Record<string, string>> {
  const chartDir = `${repoRoot()}charts/rds-csi`;
  const chart = yaml.load(await readFile(`${chartDir}/Chart.yaml`, "utf8")) as { name: string; description: string; version: string; appVersion: string };
  return {
    "charts/rds-csi/README.md": renderChartReadme(chart, await readFile(`${chartDir}/values.yaml`, "utf8")),
    "charts/rds-csi/dashboards/rds-csi.json": `${JSON.stringify(buildDashboard(), null, 2)}\n`,
    "docs/configuration-reference.md": renderSettingsReference(await servicesHelp()),
  };
}
