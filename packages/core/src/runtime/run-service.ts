import { ConfigError, loadConfig } from "../config/load-config.js";
import { describeConfig } from "../config/describe-config.js";
import { renderHelp, wantsHelp } from "../config/help.js";
import type { ConfigOf, SettingSpecs } from "../config/settings.js";
import type { PluginCapability } from "../csi/generated/csi/v1/csi.js";
import { startCsiServer, type ServiceRegistration } from "../csi/grpc-server.js";
import { identityService } from "../csi/identity-service.js";
import { startObservabilityServer, type HealthCheck } from "../observability/health-server.js";
import { createLogger, type Logger } from "../observability/logger.js";
import { MetricsRegistry } from "../observability/metrics.js";
import { onTerminationSignal } from "../lifecycle.js";
import type { commonSettings } from "./common-settings.js";
import { readServicePackage } from "./service-package.js";

type CommonSpecs = ReturnType<typeof commonSettings>;

export interface ServiceContext<S extends SettingSpecs> {
  readonly config: ConfigOf<S>;
  /** The command name from the service's package.json (e.g. its Kubernetes user agent). */
  readonly program: string;
  readonly version: string;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}

/**
 * What a service's `start` hands back. CSI Identity is served for every service; `capabilities` is
 * GetPluginCapabilities' answer, the same for every service of the driver (`pluginCapabilities`), and
 * `services` are the CSI services this process serves.
 */
export interface StartedService {
  readonly capabilities: readonly PluginCapability[];
  readonly services: readonly ServiceRegistration[];
  /** Readiness for both /readyz and CSI Probe. */
  readonly ready: HealthCheck;
  /** Releases what `start` acquired (connections, watches); runs after the CSI server stopped. */
  readonly stop?: () => Promise<void>;
}

export interface ServiceMain<S extends SettingSpecs & CommonSpecs> {
  /**
   * The service's package.json: its one `bin` is the program name used in help, messages and logs,
   * its `description` the summary `--help` prints, its `version` what GetPluginInfo reports.
   */
  readonly packageJson: URL;
  readonly settings: S;
  start(context: ServiceContext<S>): Promise<StartedService>;
}

/** Exit codes: 2 for a configuration the operator must fix, 1 for a failure at start-up. */
export const EXIT_BAD_CONFIG = 2;
export const EXIT_START_FAILED = 1;

/**
 * The composition root shared by every service: `--help`, configuration (a bad setting stops
 * start-up with a message naming it), logging, metrics, the CSI server, the health server, and
 * a graceful stop on SIGTERM.
 */
export async function runService<S extends SettingSpecs & CommonSpecs>(
  main: ServiceMain<S>,
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const { program, summary, version } = readServicePackage(main.packageJson);
  if (wantsHelp(argv)) {
    process.stdout.write(renderHelp(program, summary, main.settings));
    return;
  }
  let config: ConfigOf<S>;
  try {
    config = loadConfig(main.settings, argv, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${program}: ${err.message}\n`);
    process.exitCode = EXIT_BAD_CONFIG;
    return;
  }
  const logger = createLogger({ level: config.logLevel, component: program });
  logger.info("starting", { version, config: describeConfig(main.settings, config) });
  const metrics = new MetricsRegistry();
  metrics.collectProcessMetrics();
  try {
    const service = await main.start({ config, program, version, logger, metrics });
    const csi = await startCsiServer({
      endpoint: config.endpoint,
      socketMode: config.socketMode,
      services: [
        identityService({
          driverName: config.driverName,
          version,
          capabilities: service.capabilities,
          probe: async (signal) => (await service.ready(signal)).ok,
        }),
        ...service.services,
      ],
      logger,
      metrics,
    });
    const observability = await startObservabilityServer({
      ...config.metricsAddress,
      metrics,
      logger,
      checks: { live: async () => ({ ok: true }), ready: service.ready },
    });
    onTerminationSignal(logger, async () => {
      await csi.shutdown(config.shutdownGrace);
      await service.stop?.();
      await observability.close();
    });
  } catch (err) {
    logger.error("start-up failed", { error: err instanceof Error ? err.message : String(err) });
    process.stderr.write(`${program}: ${err instanceof Error ? err.message : String(err)}\n`);
    // A setting found wrong only once `start` read the files it names (a malformed key, no host key
    // rule) is as much a bad setting as one loadConfig refused.
    process.exit(err instanceof ConfigError ? EXIT_BAD_CONFIG : EXIT_START_FAILED);
  }
}
