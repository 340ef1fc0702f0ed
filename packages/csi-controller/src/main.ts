import { commonSettings, runService } from "@rds-csi/core";

await runService({
  program: "rds-csi-controller",
  summary: "CSI Identity + Controller for MikroTik RDS: manages file-backed NVMe/TCP disks on the RDS over SSH.",
  packageJson: new URL("../package.json", import.meta.url),
  settings: commonSettings({ endpoint: "unix:///var/lib/csi/sockets/pluginproxy/csi.sock", metricsPort: 9809 }),
  async start() {
    // Only CSI Identity so far; the Controller service arrives with its issue.
    return { capabilities: [], services: [], ready: async () => ({ ok: true }) };
  },
});
