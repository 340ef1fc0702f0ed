import type { Logger } from "../observability/logger.js";
import type { MetricsRegistry } from "../observability/metrics.js";
import type { VolumeLayout } from "../volume/volume-layout.js";
import type { CopyStrategy } from "./rds-client.js";
import type { RdsConnection } from "./rds-connection-settings.js";
import { RouterOsRdsClient } from "./routeros-rds-client.js";
import { Ssh2Transport } from "./ssh2-transport.js";

export interface CreateRdsClientOptions {
  readonly connection: RdsConnection;
  readonly layout: VolumeLayout;
  readonly copyStrategy: CopyStrategy;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
}

/**
 * The RouterOS client of one RDS over its SSH transport. The transport is returned too because its
 * owner decides when it connects (`start`) and must `close` it; nothing connects before `start`.
 */
export function createRdsClient(options: CreateRdsClientOptions): { readonly transport: Ssh2Transport; readonly rds: RouterOsRdsClient } {
  const { connection, logger, metrics } = options;
  const transport = new Ssh2Transport({ ...connection, logger, metrics });
  const rds = new RouterOsRdsClient({ transport, layout: options.layout, copyStrategy: options.copyStrategy, logger, metrics });
  return { transport, rds };
}
