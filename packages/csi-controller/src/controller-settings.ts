import { isIP } from "node:net";
import {
  commonSettings,
  DEFAULT_VOLUME_SIZE_LIMITS,
  enumSetting,
  formatByteQuantity,
  intSetting,
  optionalStringSetting,
  parseByteQuantity,
  type Setting,
  type SettingInfo,
} from "@rds-csi/core";
import { rdsConnectionSettings, volumeLayoutSettings } from "@rds-csi/core/routeros";
import { kubeConfigSetting } from "@rds-csi/core/k8s";

function sizeSetting(info: SettingInfo<bigint>): Setting<bigint> {
  return { ...info, hint: "bytes", parse: parseByteQuantity, format: formatByteQuantity };
}

const LABEL_NAME = "[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
const TOPOLOGY_KEY = new RegExp(`^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?${LABEL_NAME}$`);
const TOPOLOGY_VALUE = new RegExp(`^${LABEL_NAME}$`);

/** Every setting of rds-csi-controller: the shared ones, the RDS connection (shared with the node's self-check), volume layout and policy. */
export function controllerSettings() {
  return {
    ...commonSettings({ endpoint: "unix:///var/lib/csi/sockets/pluginproxy/csi.sock", metricsPort: 9809 }),
    ...rdsConnectionSettings(),
    ...volumeLayoutSettings(),
    nvmePort: intSetting({
      flag: "nvme-port",
      env: "NVME_PORT",
      description: "default NVMe/TCP port of new exports (StorageClass parameter nvmePort overrides it)",
      default: 4420,
      min: 1,
      max: 65_535,
    }),
    nvmeAddress: optionalStringSetting(
      {
        flag: "nvme-address",
        env: "NVME_ADDRESS",
        description: "IP address nodes connect to over NVMe/TCP; default: --rds-address, which must then be an IP address",
      },
      (raw) => {
        if (isIP(raw) === 0) throw new Error("must be an IPv4 or IPv6 address (nvme connect takes no host names)");
      },
    ),
    copyStrategyTrust: enumSetting({
      flag: "copy-strategy-trust",
      env: "COPY_STRATEGY_TRUST",
      description: "set verified only after the self-check proved that copy-from copies data on this RDS; enables snapshots and clones",
      default: "unverified",
      values: ["unverified", "verified"] as const,
    }),
    hostAccessControlTrust: enumSetting({
      flag: "host-access-control-trust",
      env: "HOST_ACCESS_CONTROL_TRUST",
      description:
        "set verified only after the self-check proved that nvme-tcp-server-allow-host-name limits who connects on this RDS; then each export admits only the hosts it is published to, otherwise any host",
      default: "unverified",
      values: ["unverified", "verified"] as const,
    }),
    kubeConfig: kubeConfigSetting(),
    topologyKey: optionalStringSetting(
      {
        flag: "topology-key",
        env: "TOPOLOGY_KEY",
        description: "topology key volumes are accessible under, e.g. topology.rds.csi.srvlab.io/rds; set with --topology-value",
      },
      (raw) => {
        if (!TOPOLOGY_KEY.test(raw)) throw new Error("must be a Kubernetes label key, e.g. topology.rds.csi.srvlab.io/rds");
      },
    ),
    topologyValue: optionalStringSetting(
      { flag: "topology-value", env: "TOPOLOGY_VALUE", description: "the value of --topology-key for this RDS, e.g. rack1" },
      (raw) => {
        if (!TOPOLOGY_VALUE.test(raw)) throw new Error("must be a Kubernetes label value: up to 63 letters, digits, '-', '_' and '.'");
      },
    ),
    volumeSizeMin: sizeSetting({
      flag: "volume-size-min",
      env: "VOLUME_SIZE_MIN",
      description: "smallest volume made; smaller requests get this size",
      default: DEFAULT_VOLUME_SIZE_LIMITS.minBytes,
    }),
    volumeSizeMax: sizeSetting({
      flag: "volume-size-max",
      env: "VOLUME_SIZE_MAX",
      description: "largest volume made or grown to; larger requests are OUT_OF_RANGE",
      default: DEFAULT_VOLUME_SIZE_LIMITS.maxBytes,
    }),
  };
}

export type ControllerSettings = ReturnType<typeof controllerSettings>;
