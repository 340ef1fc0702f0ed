import { csi, csiService, OperationLocks, ProcessExec, runService } from "@rds-csi/core";
import { ExecMounter } from "./mount/exec-mounter.js";
import { Formatter } from "./mount/format.js";
import { FilesystemProbe } from "./mount/probe-filesystem.js";
import { readMountTable, StagedVolumes } from "./node-context.js";
import { NodeService } from "./node-service.js";
import { nodeSettings } from "./node-settings.js";
import { DeviceResolver } from "./nvme/device-identity.js";
import { loadHostIdentity } from "./nvme/host-identity.js";
import { NvmeCliInitiator } from "./nvme/nvme-cli-initiator.js";
import { RootedSysfs } from "./nvme/sysfs.js";


await runService({
  program: "rds-csi-node",
  summary: "CSI Identity + Node for MikroTik RDS: attaches NVMe/TCP volumes, formats, mounts and exposes block devices.",
  packageJson: new URL("../package.json", import.meta.url),
  settings: nodeSettings(),
  async start({ config, logger }) {
    const exec = new ProcessExec();
    const sysfs = new RootedSysfs(config.sysfsRoot);
    const host = await loadHostIdentity(config.etcDir);
    logger.info("NVMe host identity", { hostNqn: host.hostNqn });
    const probe = new FilesystemProbe(exec);
    const topology = config.topologyKey !== "" && config.topologyValue !== "" ? { [config.topologyKey]: config.topologyValue } : undefined;
    const node = new NodeService({
      nodeId: config.nodeId,
      maxVolumesPerNode: config.maxVolumesPerNode,
      topology,
      host,
      initiator: new NvmeCliInitiator({ exec, nvmeCli: config.nvmeCli, sysfs }),
      resolver: new DeviceResolver(sysfs, config.devRoot),
      sysfs,
      mounter: new ExecMounter(exec),
      probe,
      formatter: new Formatter(exec, probe),
      managedNqnPrefix: config.managedNqnPrefix,
      locks: new OperationLocks({ label: "volume" }),
      staged: new StagedVolumes(),
      namespaceTimeoutMs: config.namespaceTimeout,
      mountTable: () => readMountTable(),
    });
    return {
      capabilities: [],
      services: [csiService(csi.NodeService, node)],
      ready: async () => ({ ok: true }),
    };
  },
});
