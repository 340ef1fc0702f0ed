import { ConfigError, runService, VolumeLayout } from "@rds-csi/core";
import { KubeClient, loadKubeConnection } from "@rds-csi/core/k8s";
import { createRdsClient, resolveRdsConnection } from "@rds-csi/core/routeros";
import { startReconciler } from "./start-reconciler.js";
import { reconcilerSettings } from "./reconciler-settings.js";

await runService({
  program: "rds-csi-attachment-reconciler",
  summary: "Detects failed nodes, fences them, removes stale VolumeAttachments and audits orphaned RDS disks.",
  packageJson: new URL("../package.json", import.meta.url),
  settings: reconcilerSettings(),
  async start({ config, logger, metrics }) {
    const problems = [
      ...(config.renewDeadline >= config.leaseDuration ? ["--leader-renew-deadline (env LEADER_RENEW_DEADLINE) must be shorter than --leader-lease-duration (env LEADER_LEASE_DURATION)"] : []),
      ...(config.retryPeriod >= config.renewDeadline ? ["--leader-retry-period (env LEADER_RETRY_PERIOD) must be shorter than --leader-renew-deadline (env LEADER_RENEW_DEADLINE)"] : []),
    ];
    if (problems.length > 0) throw new ConfigError(problems);
    const connection = await resolveRdsConnection(config);
    const kube = new KubeClient(await loadKubeConnection(config.kubeConfig, "rds-csi-attachment-reconciler"));
    const { transport, rds } = createRdsClient({
      connection,
      layout: new VolumeLayout({ basePath: config.basePath, nqnPrefix: config.nqnPrefix }),
      // The reconciler never copies a disk; the strategy only matters to the controller.
      copyStrategy: { name: "disk-copy-from", trust: "unverified" },
      logger,
      metrics,
    });
    transport.start();
    const reconciler = startReconciler({ config, kube, rds, logger, metrics });
    return {
      capabilities: [],
      services: [],
      ready: reconciler.ready,
      async stop() {
        await reconciler.stop();
        await transport.close();
        kube.connection.close();
      },
    };
  },
});
