import { isIP } from "node:net";
import { checkSizeLimits, ConfigError, VolumeLayout, type ConfigOf, type ParameterDefaults, type VolumeSizeLimits } from "@rds-csi/core";
import { resolveRdsConnection, type RdsConnection } from "@rds-csi/core/routeros";
import type { ControllerSettings } from "./controller-settings.js";
import type { TopologySegment } from "./topology.js";

/** The controller's configuration once the settings that depend on each other and the files they name are resolved. */
export interface ControllerRuntimeConfig {
  readonly connection: RdsConnection;
  readonly layout: VolumeLayout;
  readonly sizeLimits: VolumeSizeLimits;
  readonly parameterDefaults: ParameterDefaults;
  readonly topology: TopologySegment | undefined;
}

type Config = ConfigOf<ControllerSettings>;

/**
 * Checks what no single setting can check alone and reads the files the settings name. Each problem
 * is a `ConfigError` naming the settings involved (start-up exits 2); a file's content never appears
 * in a message.
 */
export async function resolveControllerConfig(config: Config): Promise<ControllerRuntimeConfig> {
  const nvmeAddress = config.nvmeAddress || config.rdsAddress;
  if (isIP(nvmeAddress) === 0) {
    throw new ConfigError([
      `--nvme-address (env NVME_ADDRESS) is required when --rds-address "${config.rdsAddress}" is a host name: nodes connect over NVMe/TCP by IP address`,
    ]);
  }
  if ((config.topologyKey === "") !== (config.topologyValue === "")) {
    throw new ConfigError(["--topology-key (env TOPOLOGY_KEY) and --topology-value (env TOPOLOGY_VALUE) are set together or not at all"]);
  }
  const sizeLimits = checkLimits(config.volumeSizeMin, config.volumeSizeMax);
  const connection = await resolveRdsConnection(config);
  const layout = new VolumeLayout({ basePath: config.basePath, nqnPrefix: config.nqnPrefix });
  return {
    connection,
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
    throw new ConfigError([`--volume-size-min (env VOLUME_SIZE_MIN) / --volume-size-max (env VOLUME_SIZE_MAX): ${reason}`]);
  }
}
