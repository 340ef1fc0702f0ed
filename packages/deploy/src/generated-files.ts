import { buildDashboard } from "./dashboard/rds-csi-dashboard.js";

/** The dashboard JSON the chart ships, exactly as generated (stable key order from the builders). */
export function dashboardJson(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}
