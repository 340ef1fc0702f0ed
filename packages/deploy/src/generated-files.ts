import { buildDashboard } from "./dashboard/rds-csi-dashboard.js";
import { servicesHelp } from "./service-help.js";
import { renderSettingsReference } from "./settings-reference.js";

/** Every generated file the repository ships, by path from the repository root, as the generator writes it. */
export async function generatedFiles(): Promise<Record<string, string>> {
  return {
    "charts/rds-csi/dashboards/rds-csi.json": `${JSON.stringify(buildDashboard(), null, 2)}\n`,
    "docs/configuration-reference.md": renderSettingsReference(await servicesHelp()),
  };
}
