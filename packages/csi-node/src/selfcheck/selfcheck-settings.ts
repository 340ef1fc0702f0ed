import { isIP } from "node:net";
import { durationSetting, enumSetting, formatByteQuantity, intSetting, LOG_LEVELS, MiB, optionalStringSetting, parseByteQuantity, type Setting } from "@rds-csi/core";
import { rdsConnectionSettings, volumeLayoutSettings } from "@rds-csi/core/routeros";
import { nodeSettings } from "../node-settings.js";
import { PATTERN_BLOCK_BYTES } from "./pattern-io.js";

const MAX_SCRATCH_BYTES = 1024n * MiB;

/**
 * Settings of `rds-csi-node selfcheck`: the controller's RDS connection and layout (same flags and
 * variables, so the controller's Secret and values can be reused), the node's own NVMe settings, and
 * the check's own knobs.
 */
export function selfcheckSettings() {
  const node = nodeSettings();
  return {
    ...rdsConnectionSettings(),
    ...volumeLayoutSettings(),
    nvmeAddress: optionalStringSetting(
      {
        flag: "nvme-address",
        env: "NVME_ADDRESS",
        description: "IP address this node connects to over NVMe/TCP; default: --rds-address, which must then be an IP address",
      },
      (raw) => {
        if (isIP(raw) === 0) throw new Error("must be an IPv4 or IPv6 address (nvme connect takes no host names)");
      },
    ),
    nvmePort: intSetting({ flag: "nvme-port", env: "NVME_PORT", description: "NVMe/TCP port of the scratch exports", default: 4420, min: 1, max: 65_535 }),
    etcDir: node.etcDir,
    sysfsRoot: node.sysfsRoot,
    devRoot: node.devRoot,
    nvmeCli: node.nvmeCli,
    output: enumSetting({ flag: "output", env: "SELFCHECK_OUTPUT", description: "report format on stdout", default: "table", values: ["table", "json"] as const }),
    scratchSize: {
      flag: "scratch-size",
      env: "SELFCHECK_SCRATCH_SIZE",
      description: "size of the scratch volume, all of it written with a random pattern; whole MiB, at most 1Gi",
      default: 8n * MiB,
      hint: "bytes",
      parse(raw: string): bigint {
        const bytes = parseByteQuantity(raw);
        if (bytes <= 0n || bytes > MAX_SCRATCH_BYTES || bytes % BigInt(PATTERN_BLOCK_BYTES) !== 0n) throw new Error("must be a whole number of MiB from 1Mi to 1Gi");
        return bytes;
      },
      format: formatByteQuantity,
    } satisfies Setting<bigint>,
    copyTimeout: durationSetting({
      flag: "copy-timeout",
      env: "SELFCHECK_COPY_TIMEOUT",
      description: "how long one copy on the RDS (snapshot, restore, clone) may take",
      default: 5 * 60_000,
    }),
    dropWait: durationSetting({
      flag: "drop-wait",
      env: "SELFCHECK_DROP_WAIT",
      description: "how long a live connection is watched after its host left the allow-list; keep it above the 5 s keep-alive timeout",
      default: 20_000,
    }),
    logLevel: enumSetting({ flag: "log-level", env: "LOG_LEVEL", description: "least severe level logged (JSON lines on stderr)", default: "warn", values: LOG_LEVELS }),
  };
}

export type SelfcheckSettings = ReturnType<typeof selfcheckSettings>;
