import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import {
  checkSizeLimits,
  InvalidArgumentError,
  VolumeLayout,
  type ConfigOf,
  type HostKeyPolicy,
  type ParameterDefaults,
  type SshAuth,
  type VolumeSizeLimits,
} from "@rds-csi/core";
import type { ControllerSettings } from "./controller-settings.js";
import type { TopologySegment } from "./topology.js";

/** The controller's configuration once the settings that depend on each other and the files they name are resolved. */
export interface ControllerRuntimeConfig {
  readonly auth: SshAuth;
  readonly hostKey: HostKeyPolicy;
  readonly layout: VolumeLayout;
  readonly sizeLimits: VolumeSizeLimits;
  readonly parameterDefaults: ParameterDefaults;
  readonly topology: TopologySegment | undefined;
}

type Config = ConfigOf<ControllerSettings>;

/**
 * Checks what no single setting can check alone and reads the files the settings name. Each problem
 * names the settings involved; a file's content never appears in a message.
 */
export async function resolveControllerConfig(config: Config): Promise<ControllerRuntimeConfig> {
  const nvmeAddress = config.nvmeAddress || config.rdsAddress;
  if (isIP(nvmeAddress) === 0) {
    throw new InvalidArgumentError(
      `--nvme-address (env NVME_ADDRESS) is required when --rds-address "${config.rdsAddress}" is a host name: nodes connect over NVMe/TCP by IP address`,
    );
  }
  if ((config.topologyKey === "") !== (config.topologyValue === "")) {
    throw new InvalidArgumentError("--topology-key (env TOPOLOGY_KEY) and --topology-value (env TOPOLOGY_VALUE) are set together or not at all");
  }
  const sizeLimits = checkLimits(config.volumeSizeMin, config.volumeSizeMax);
  const hostKey = await hostKeyPolicy(config);
  const privateKey = await readSettingFile(config.rdsPrivateKeyFile, "--rds-private-key-file (env RDS_PRIVATE_KEY_FILE)");
  const passphrase =
    config.rdsPrivateKeyPassphraseFile === ""
      ? undefined
      : (await readSettingFile(config.rdsPrivateKeyPassphraseFile, "--rds-private-key-passphrase-file (env RDS_PRIVATE_KEY_PASSPHRASE_FILE)")).trimEnd();
  const layout = new VolumeLayout({ basePath: config.basePath, nqnPrefix: config.nqnPrefix });
  return {
    auth: passphrase === undefined ? { privateKey } : { privateKey, passphrase },
    hostKey,
    layout,
    sizeLimits,
    parameterDefaults: { nvmePort: config.nvmePort, nvmeAddress, basePath: layout.basePath },
    topology: config.topologyKey === "" ? undefined : { key: config.topologyKey, value: config.topologyValue },
  };
}

function checkLimits(minBytes: bigint, maxBytes: bigint): VolumeSizeLimits {
  try {
    return checkSizeLimits({ minBytes, maxBytes });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new InvalidArgumentError(`--volume-size-min (env VOLUME_SIZE_MIN) / --volume-size-max (env VOLUME_SIZE_MAX): ${reason}`);
  }
}

/** Exactly one way of trusting the RDS's host key; skipping the check must be asked for by name. */
async function hostKeyPolicy(config: Config): Promise<HostKeyPolicy> {
  const chosen = [config.rdsHostKeyFingerprint !== "", config.rdsKnownHostsFile !== "", config.rdsInsecureSkipHostKeyCheck].filter(Boolean);
  if (chosen.length !== 1) {
    throw new InvalidArgumentError(
      `set exactly one of --rds-host-key-fingerprint (env RDS_HOST_KEY_FINGERPRINT), --rds-known-hosts-file (env RDS_KNOWN_HOSTS_FILE) ` +
        `and --rds-insecure-skip-host-key-check (env RDS_INSECURE_SKIP_HOST_KEY_CHECK); ${chosen.length === 0 ? "none is" : "several are"} set`,
    );
  }
  if (config.rdsHostKeyFingerprint !== "") return { fingerprint: config.rdsHostKeyFingerprint };
  if (config.rdsKnownHostsFile !== "") {
    return { knownHosts: await readSettingFile(config.rdsKnownHostsFile, "--rds-known-hosts-file (env RDS_KNOWN_HOSTS_FILE)") };
  }
  return { insecureSkip: true };
}

async function readSettingFile(path: string, setting: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    // readFile rejects with a system error (ENOENT, EACCES, EISDIR); its code says enough.
    throw new InvalidArgumentError(`${setting}: cannot read "${path}" (${(err as NodeJS.ErrnoException).code})`, { cause: err });
  }
}
