import { csi, csiService, OperationLocks, pluginCapabilities, ProcessExec, runService, stringSetting } from "@rds-csi/core";
import { canonicalPath } from "./mount/canonical-path.js";
import { ExecMounter } from "./mount/exec-mounter.js";
import { Formatter } from "./mount/format.js";
import { FilesystemProbe } from "./mount/probe-filesystem.js";
import { KeptControllers } from "./kept-controllers.js";
import { StagedVolumes, type NodeContext } from "./node-context.js";
import { NodeService } from "./node-service.js";
import { nodeSettings } from "./node-settings.js";
import { DeviceResolver } from "./nvme/device-identity.js";
import { KernelDeviceNodes } from "./nvme/device-nodes.js";
import { loadHostIdentity } from "./nvme/host-identity.js";
import { NvmeCliInitiator } from "./nvme/nvme-cli-initiator.js";
import { RootedSysfs } from "./nvme/sysfs.js";
import { registerNodeMetrics, registerStaleMountMetrics } from "./node-metrics.js";
import { NodeProbe } from "./node-probe.js";
import { kubeletCsiPluginDir, reconcileAtStartup } from "./startup-reconciliation.js";
import { StaleMountWatcher } from "./stale-mount-watcher.js";
import { HostNqnPublisher } from "./host-nqn-publisher.js";
import { KubeClient, loadKubeConnection } from "@rds-csi/core/k8s";
import { FenceCleanupReporter } from "./fence-cleanup-reporter.js";
import { KubeVolumeAttachmentCheck } from "./volume-attachment-check.js";


// `rds-csi-node selfcheck …` is an operator's command, not the service; its code loads only when asked for.
if (process.argv[2] === "selfcheck") {
  const { selfcheckMain } = await import("./selfcheck/selfcheck-main.js");
  process.exit(await selfcheckMain(process.argv.slice(3)));
}

await runService({
  packageJson: new URL("../package.json", import.meta.url),
  settings: {
    ...nodeSettings(),
    kubeletDir: stringSetting({
      flag: "kubelet-dir",
      env: "KUBELET_DIR",
      description: "the kubelet's root directory; start-up reconciliation scans <kubelet-dir>/plugins/kubernetes.io/csi for staging metadata",
      default: "/var/lib/kubelet",
    }),
  },
  async start({ config, program, logger, metrics }) {
    const exec = new ProcessExec();
    const sysfs = new RootedSysfs(config.sysfsRoot);
    const host = await loadHostIdentity(config.etcDir);
    logger.info("NVMe host identity", { hostNqn: host.hostNqn });
    // For the controller's host access control (the Node annotation it reads); never delays serving.
    const hostNqnPublisher = new HostNqnPublisher({ source: config.kubeConfig, nodeName: config.nodeId, hostNqn: host.hostNqn, logger });
    // Optional, like the host NQN: with API access, a lost controller is reconnected only while the
    // volume is still attached here, and a node that was fenced reports its clean-up.
    const kube = await loadKubeConnection(config.kubeConfig, program).then(
      (connection) => new KubeClient(connection),
      (err: unknown) => {
        logger.warn("no Kubernetes API access: lost NVMe/TCP controllers are reconnected without checking that the volume is still attached to this node, and after a fence this node cannot report its clean-up", {
          error: (err as Error).message,
        });
        return undefined;
      },
    );
    const attachments = kube && new KubeVolumeAttachmentCheck({ client: kube, driverName: config.driverName, nodeName: config.nodeId });
    const deviceNodes = new KernelDeviceNodes();
    const probe = new FilesystemProbe(exec, { deviceNodes });
    const resolver = new DeviceResolver(sysfs, config.devRoot, deviceNodes);
    const initiator = new NvmeCliInitiator({ exec, nvmeCli: config.nvmeCli, sysfs });
    const mounter = new ExecMounter(exec);
    const staged = new StagedVolumes();
    // Before serving: mounts and controllers of this driver that no metadata claims are leftovers of a crash.
    const reconciliation = await reconcileAtStartup({
      sysfs,
      initiator,
      resolver,
      managedNqnPrefix: config.managedNqnPrefix,
      mounter,
      kubeletDir: config.kubeletDir,
      driverName: config.driverName,
      logger,
    });
    for (const claim of reconciliation.claimed) staged.add(claim.volumeId, claim.nqn);
    const nodeMetrics = registerNodeMetrics(metrics, sysfs, config.managedNqnPrefix);
    const readiness = new NodeProbe({ exec, nvmeCli: config.nvmeCli, sysfsRoot: config.sysfsRoot });
    const topology = config.topologyKey !== "" && config.topologyValue !== "" ? { [config.topologyKey]: config.topologyValue } : undefined;
    const context: NodeContext = {
      nodeId: config.nodeId,
      // As the kernel records mount points; a missing directory fails every path check, naming it.
      kubeletDir: await canonicalPath(config.kubeletDir),
      maxVolumesPerNode: config.maxVolumesPerNode,
      topology,
      host,
      initiator,
      resolver,
      sysfs,
      mounter,
      probe,
      formatter: new Formatter(exec, probe),
      managedNqnPrefix: config.managedNqnPrefix,
      ...(attachments && { attachments }),
      locks: new OperationLocks({ label: "volume" }),
      staged,
      keptControllers: new KeptControllers(),
      namespaceTimeoutMs: config.namespaceTimeout,
      stageRecorder: nodeMetrics.stage,
      staleMounts: registerStaleMountMetrics(metrics),
    };
    const node = new NodeService(context, { exec, nvmeCli: config.nvmeCli });
    // Kubelet never re-stages a staged volume: stale mounts after a renumbering reconnect are recovered here.
    const watcher = new StaleMountWatcher({ ctx: context, metadataRoots: [kubeletCsiPluginDir(config.kubeletDir)], logger, intervalMs: config.staleMountCheckInterval });
    if (config.staleMountCheckInterval > 0) watcher.start();
    const cleanupReporter =
      kube &&
      attachments &&
      new FenceCleanupReporter({ client: kube, nodeName: config.nodeId, attachments, staged: () => staged.list().map(({ volumeId }) => volumeId), logger, intervalMs: config.staleMountCheckInterval || 15_000 });
    cleanupReporter?.start();
    return {
      // The same set as the controller's (CSI: regardless of which services an instance serves).
      capabilities: pluginCapabilities({ topology: topology !== undefined }),
      services: [csiService(csi.NodeService, node)],
      ready: readiness.check,
      stop: async () => {
        await Promise.all([watcher.stop(), hostNqnPublisher.stop(), cleanupReporter?.stop()]);
        kube?.connection.close();
      },
    };
  },
});
