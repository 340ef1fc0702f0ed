import { csi, csiService, nvmeAddressOf, pluginCapabilities, runService } from "@rds-csi/core";
import { createRdsClient } from "@rds-csi/core/routeros";
import { KubeClient, KubeEventRecorder, loadKubeConnection } from "@rds-csi/core/k8s";
import { KubeClaimLookup } from "./claim-lookup.js";
import { resolveControllerConfig } from "./controller-config.js";
import { ControllerService } from "./controller-service.js";
import { controllerSettings } from "./controller-settings.js";
import { createPublishArbiter } from "./publish/index.js";
import { PvcVolumeEvents } from "./volume-events.js";
import { RdsVolumeGauges } from "./volume-gauges.js";

await runService({
  packageJson: new URL("../package.json", import.meta.url),
  settings: controllerSettings(),
  async start({ config, program, logger, metrics }) {
    const resolved = await resolveControllerConfig(config);
    const kube = new KubeClient(await loadKubeConnection(config.kubeConfig, program));
    const { transport, rds } = createRdsClient({
      connection: resolved.connection,
      layout: resolved.layout,
      copyStrategy: { name: "disk-copy-from", trust: config.copyStrategyTrust },
      logger,
      metrics,
    });
    const hostAccessControl = config.hostAccessControlTrust === "verified";
    const recorder = new KubeEventRecorder({ client: kube, component: "rds-csi-controller" });
    const arbiter = createPublishArbiter({
      rds,
      events: recorder,
      driverName: config.driverName,
      logger,
      metrics,
      client: kube,
      hostAccessControl,
      nvmeAddress: (context) => nvmeAddressOf(context) ?? resolved.parameterDefaults.nvmeAddress,
    });
    const events = new PvcVolumeEvents({ recorder, claims: new KubeClaimLookup({ client: kube, driverName: config.driverName }), logger });
    const gauges = new RdsVolumeGauges({ rds, metrics, logger });
    // Connecting runs in the background and never gives up; until it succeeds Probe says not ready.
    transport.start();
    // The first read waits for the connection within its deadline.
    gauges.start();
    const controller = new ControllerService({
      rds,
      arbiter,
      sizeLimits: resolved.sizeLimits,
      parameterDefaults: resolved.parameterDefaults,
      ...(resolved.topology ? { topology: resolved.topology } : {}),
      events,
      gauges,
      hostAccessControl,
    });
    return {
      capabilities: pluginCapabilities({ topology: resolved.topology !== undefined }),
      services: [csiService(csi.ControllerService, controller)],
      async ready(signal) {
        if (rds.connectionState !== "connected") return { ok: false, detail: `the SSH connection to the RDS is ${rds.connectionState}` };
        return arbiter.ready(signal);
      },
      async stop() {
        await Promise.all([arbiter.close(), events.close(), gauges.stop()]);
        await transport.close();
        kube.connection.close();
      },
    };
  },
});
