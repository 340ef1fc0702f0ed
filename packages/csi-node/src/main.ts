import { commonSettings, runService } from "@rds-csi/core";

await runService({
  program: "rds-csi-node",
  summary: "CSI Identity + Node for MikroTik RDS: attaches NVMe/TCP volumes, formats, mounts and exposes block devices.",
  packageJson: new URL("../package.json", import.meta.url),
  settings: commonSettings({ endpoint: "unix:///csi/csi.sock", metricsPort: 9810 }),
  async start() {
    // Only CSI Identity so far; the Node service arrives with its issue.
    return { capabilities: [], services: [], ready: async () => ({ ok: true }) };
  },
});
