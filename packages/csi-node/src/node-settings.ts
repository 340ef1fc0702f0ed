import { commonSettings, durationSetting, intSetting, stringSetting, type Setting, type SettingInfo } from "@rds-csi/core";
import { kubeConfigSetting } from "@rds-csi/core/k8s";
import { DEFAULT_MANAGED_NQN_PREFIX } from "./node-context.js";

function optionalString(info: Omit<SettingInfo<string>, "default">, check: (raw: string) => void): Setting<string> {
  const base = stringSetting({ ...info, default: "" });
  return { ...base, parse: (raw) => { const value = base.parse(raw); check(value); return value; } };
}


/** Settings of rds-csi-node; main.ts is the only reader. */
export function nodeSettings() {
  return {
    ...commonSettings({ endpoint: "unix:///csi/csi.sock", metricsPort: 9810 }),
    nodeId: stringSetting({ flag: "node-id", env: "NODE_ID", description: "this node's id: the Kubernetes node name (downward API spec.nodeName)" }),
    // Optional for the node (volumes attach without it): the host NQN on the Node (patch nodes), the
    // attachment check before reconnecting a lost controller (get volumeattachments), the clean-up report
    // after a fence (get, patch nodes).
    kubeConfig: kubeConfigSetting(),
    sysfsRoot: stringSetting({ flag: "sysfs-root", env: "SYSFS_ROOT", description: "where the host's sysfs is mounted", default: "/sys" }),
    devRoot: stringSetting({ flag: "dev-root", env: "DEV_ROOT", description: "where the host's device nodes are", default: "/dev" }),
    etcDir: stringSetting({ flag: "etc-dir", env: "ETC_DIR", description: "the host's /etc; the NVMe host NQN and id are read from (or created in) <etc-dir>/nvme", default: "/etc" }),
    nvmeCli: stringSetting({ flag: "nvme-cli", env: "NVME_CLI", description: "the nvme-cli executable", default: "nvme" }),
    managedNqnPrefix: stringSetting({
      flag: "managed-nqn-prefix",
      env: "MANAGED_NQN_PREFIX",
      description: "NQN prefix of the subsystems this driver manages; controllers of other NQNs are never disconnected",
      default: DEFAULT_MANAGED_NQN_PREFIX,
    }),
    maxVolumesPerNode: intSetting({ flag: "max-volumes-per-node", env: "MAX_VOLUMES_PER_NODE", description: "volumes this node takes at most; 0 = no limit", default: 0, min: 0, max: 100_000 }),
    staleMountCheckInterval: durationSetting({
      flag: "stale-mount-check-interval",
      env: "STALE_MOUNT_CHECK_INTERVAL",
      description: "how often staged volumes are checked for a mount left on a device their NQN no longer resolves to (recovered without waiting for kubelet)",
      default: 15_000,
    }),
    namespaceTimeout: durationSetting({ flag: "namespace-timeout", env: "NAMESPACE_TIMEOUT", description: "how long stage waits for the namespace after a connect", default: 30_000 }),
    topologyKey: optionalString({ flag: "topology-key", env: "TOPOLOGY_KEY", description: "topology key of this node's segment; set with --topology-value" }, (raw) => {
      if (/\s/.test(raw)) throw new Error("must be a label key");
    }),
    topologyValue: optionalString({ flag: "topology-value", env: "TOPOLOGY_VALUE", description: "this node's value of --topology-key" }, (raw) => {
      if (/\s/.test(raw)) throw new Error("must be a label value");
    }),
  };
}
