import { commonSettings, runService } from "@rds-csi/core";

await runService({
  program: "rds-csi-attachment-reconciler",
  summary: "Detects failed nodes, fences them, removes stale VolumeAttachments and audits orphaned RDS disks.",
  packageJson: new URL("../package.json", import.meta.url),
  settings: commonSettings({ endpoint: "unix:///run/rds-csi/reconciler.sock", metricsPort: 9811 }),
  async start() {
    // Only CSI Identity so far; the reconciler service arrives with its issue.
    return { capabilities: [], services: [], ready: async () => ({ ok: true }) };
  },
});
