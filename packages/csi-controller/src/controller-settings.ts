import { isIP } from "node:net";
import { boolSetting, commonSettings, DEFAULT_VOLUME_SIZE_LIMITS, enumSetting, formatByteQuantity, intSetting, parseByteQuantity, stringSetting, VolumeLayout, type Setting, type SettingInfo } from "@rds-csi/core";
import { kubeConfigSetting } from "@rds-csi/core/k8s";

export const DEFAULT_NQN_PREFIX = "nqn.2000-02.com.mikrotik";
/** The earlier Go driver's base path, so its volumes are found without configuration. */
export const DEFAULT_BASE_PATH = "/storage-pool/metal-csi";

/** Absent (empty) unless set; a set value must not be empty, like every string setting. */
function optionalString(info: Omit<SettingInfo<string>, "default">, check?: (raw: string) => void): Setting<string> {
  const base = stringSetting({ ...info, default: "" });
  return {
    ...base,
    parse(raw) {
      const value = base.parse(raw);
      check?.(value);
      return value;
    },
  };
}

function sizeSetting(info: SettingInfo<bigint>): Setting<bigint> {
  return { ...info, hint: "bytes", parse: parseByteQuantity, format: formatByteQuantity };
}

const LABEL_NAME = "[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
const TOPOLOGY_KEY = new RegExp(`^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*/)?${LABEL_NAME}$`);
const TOPOLOGY_VALUE = new RegExp(`^${LABEL_NAME}$`);

/** Every setting of rds-csi-controller: the shared ones, the RDS connection, volume layout and policy. */
export function controllerSettings() {
  return {
    ...commonSettings({ endpoint: "unix:///var/lib/csi/sockets/pluginproxy/csi.sock", metricsPort: 9809 }),
    rdsAddress: stringSetting({ flag: "rds-address", env: "RDS_ADDRESS", description: "host name or IP address of the RDS's SSH service" }),
    rdsSshPort: intSetting({ flag: "rds-ssh-port", env: "RDS_SSH_PORT", description: "SSH port of the RDS", default: 22, min: 1, max: 65_535 }),
    rdsUser: stringSetting({
      flag: "rds-user",
      env: "RDS_USER",
      description: "RouterOS user; may carry console options, e.g. admin+ct200w",
      default: "admin",
    }),
    rdsPrivateKeyFile: stringSetting({
      flag: "rds-private-key-file",
      env: "RDS_PRIVATE_KEY_FILE",
      description: "file holding the SSH private key (ed25519, ECDSA or RSA), read once at start; its content is never logged",
    }),
    rdsPrivateKeyPassphraseFile: optionalString({
      flag: "rds-private-key-passphrase-file",
      env: "RDS_PRIVATE_KEY_PASSPHRASE_FILE",
      description: "file holding the passphrase of an encrypted private key, read once at start",
    }),
    rdsHostKeyFingerprint: optionalString({
      flag: "rds-host-key-fingerprint",
      env: "RDS_HOST_KEY_FINGERPRINT",
      description: "the RDS's SSH host key as `ssh-keygen -lf` prints it (SHA256:...); one of the three host key settings is required",
    }),
    rdsKnownHostsFile: optionalString({
      flag: "rds-known-hosts-file",
      env: "RDS_KNOWN_HOSTS_FILE",
      description: "OpenSSH known_hosts file holding the RDS's host key (e.g. ssh-keyscan output); alternative to the fingerprint",
    }),
    rdsInsecureSkipHostKeyCheck: boolSetting({
      flag: "rds-insecure-skip-host-key-check",
      env: "RDS_INSECURE_SKIP_HOST_KEY_CHECK",
      description: "accept any SSH host key (labs only: anyone on the path can then act as the RDS)",
      default: false,
    }),
    basePath: {
      ...stringSetting({
        flag: "rds-base-path",
        env: "RDS_BASE_PATH",
        description: "directory on the RDS holding the volume files; its first component is the pool whose free space is reported",
        default: DEFAULT_BASE_PATH,
      }),
      parse(raw: string): string {
        // VolumeLayout holds the one rule for base paths.
        return new VolumeLayout({ basePath: raw, nqnPrefix: DEFAULT_NQN_PREFIX }).basePath;
      },
    } satisfies Setting<string>,
    nqnPrefix: {
      ...stringSetting({
        flag: "nqn-prefix",
        env: "NQN_PREFIX",
        description: "NQN of a volume's export is <prefix>:<volume id>; keep the default for volumes of the earlier Go driver",
        default: DEFAULT_NQN_PREFIX,
      }),
      parse(raw: string): string {
        return new VolumeLayout({ basePath: DEFAULT_BASE_PATH, nqnPrefix: raw }).nqnPrefix;
      },
    } satisfies Setting<string>,
    nvmePort: intSetting({
      flag: "nvme-port",
      env: "NVME_PORT",
      description: "default NVMe/TCP port of new exports (StorageClass parameter nvmePort overrides it)",
      default: 4420,
      min: 1,
      max: 65_535,
    }),
    nvmeAddress: optionalString(
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
    topologyKey: optionalString(
      {
        flag: "topology-key",
        env: "TOPOLOGY_KEY",
        description: "topology key volumes are accessible under, e.g. topology.rds.csi.srvlab.io/rds; set with --topology-value",
      },
      (raw) => {
        if (!TOPOLOGY_KEY.test(raw)) throw new Error("must be a Kubernetes label key, e.g. topology.rds.csi.srvlab.io/rds");
      },
    ),
    topologyValue: optionalString(
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
