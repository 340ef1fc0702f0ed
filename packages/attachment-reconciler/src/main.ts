import { ConfigError, InvalidArgumentError, runService, VolumeLayout } from "@rds-csi/core";
import { KubeClient, LeaderElector, loadKubeConnection } from "@rds-csi/core/k8s";
import { createRdsClient, resolveRdsConnection } from "@rds-csi/core/routeros";
import { startReconciler } from "./start-reconciler.js";
import { reconcilerSettings } from "./reconciler-settings.js";

await runService({
  packageJson: new URL("../package.json", import.meta.url),
  settings: reconcilerSettings(),
  async start({ config, program, logger, metrics }) {
    const connection = await resolveRdsConnection(config);
    const kube = new KubeClient(await loadKubeConnection(config.kubeConfig, program));
    let leader: LeaderElector;
    try {
      leader = new LeaderElector({
        client: kube,
        namespace: config.leaderElectionNamespace,
        name: "rds-csi-attachment-reconciler",
        identity: config.leaderElectionIdentity,
        logger,
        timing: { leaseDurationMs: config.leaseDuration, renewDeadlineMs: config.renewDeadline, retryPeriodMs: config.retryPeriod },
      });
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      throw new ConfigError([`--leader-lease-duration, --leader-renew-deadline, --leader-retry-period (env LEADER_LEASE_DURATION, LEADER_RENEW_DEADLINE, LEADER_RETRY_PERIOD): ${err.message}`]);
    }
    const { transport, rds } = createRdsClient({
      connection,
      layout: new VolumeLayout({ basePath: config.basePath, nqnPrefix: config.nqnPrefix }),
      // The reconciler never copies a disk; the strategy only matters to the controller.
      copyStrategy: { name: "disk-copy-from", trust: "unverified" },
      logger,
      metrics,
    });
    transport.start();
    const reconciler = startReconciler({ config, kube, rds, leader, logger, metrics });
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
