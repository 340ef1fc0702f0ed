import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import {
  createLogger,
  csi,
  csiService,
  DEFAULT_VOLUME_SIZE_LIMITS,
  IdentityServiceImpl,
  MetricsRegistry,
  parseEndpoint,
  pluginCapabilities,
  startCsiServer,
  VolumeLayout,
  type VolumeSizeLimits,
} from "@rds-csi/core";
import { RouterOsRdsClient, Ssh2Transport, type CopyStrategy, type RdsClient } from "@rds-csi/core/routeros";
import { generateEd25519KeyPair, operatorLogin, startSimulator, type OperatorLogin, type RdsSimulator } from "@rds-csi/rds-simulator";
import { ControllerService } from "../../src/controller-service.js";
import type { PublishArbiter } from "../../src/publish-arbiter.js";
import type { TopologySegment } from "../../src/topology.js";
import type { VolumeEvents } from "../../src/volume-events.js";
import { RdsVolumeGauges, type VolumeGauges } from "../../src/volume-gauges.js";

export interface InProcessControllerOptions {
  /** How to reach the RDS (the simulator) over SSH: `operatorLogin(sim, key)`. */
  readonly rds: OperatorLogin;
  /** The CSI socket is created here. */
  readonly socketDir: string;
  readonly copyTrust: CopyStrategy["trust"];
  /** The arbiter, or how to make it from the controller's own RDS client (as main.ts does). */
  readonly arbiter: PublishArbiter | ((rds: RdsClient) => PublishArbiter);
  readonly basePath?: string;
  readonly topology?: TopologySegment;
  readonly sizeLimits?: VolumeSizeLimits;
  /** Default: none are posted. */
  readonly events?: VolumeEvents;
  /**
   * Runs the real gauges with this interval. Default: no gauges, because their reads of the RDS would
   * show up in tests that assert the exact commands a call sent.
   */
  readonly gaugeIntervalMs?: number;
  /** `--host-access-control-trust=verified` (give the arbiter the same); default: unverified. */
  readonly hostAccessControl?: boolean;
}

export interface InProcessController {
  /** `unix://…` of the CSI socket serving Identity and Controller. */
  readonly endpoint: string;
  readonly transport: Ssh2Transport;
  /** The controller's RDS client, for a test that acts on the RDS as another component would. */
  readonly rds: RdsClient;
  /** The registry the controller's metrics are in. */
  readonly metrics: MetricsRegistry;
  stop(): Promise<void>;
}

/**
 * The controller as main.ts assembles it, minus the Kubernetes side: real SSH transport, real
 * RouterOS client, the real gRPC server on a unix socket; the arbiter is the caller's. Retry and
 * reconnect waits are short so fault tests run in seconds.
 */
export async function startInProcessController(options: InProcessControllerOptions): Promise<InProcessController> {
  const logger = createLogger({ level: "error", component: "rds-csi-controller", stream: new PassThrough().resume() });
  const metrics = new MetricsRegistry();
  const transport = new Ssh2Transport({
    ...options.rds,
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    logger,
    metrics,
  });
  const rds = new RouterOsRdsClient({
    transport,
    layout: new VolumeLayout({ basePath: options.basePath ?? "/raid10/csi", nqnPrefix: "nqn.2000-02.com.mikrotik" }),
    copyStrategy: { name: "disk-copy-from", trust: options.copyTrust },
    logger,
    metrics,
    retry: { initialDelayMs: 20, maxDelayMs: 200 },
  });
  transport.start();
  const gauges = options.gaugeIntervalMs === undefined ? undefined : new RdsVolumeGauges({ rds, metrics, logger, intervalMs: options.gaugeIntervalMs });
  gauges?.start();
  const noGauges: VolumeGauges = { changed: () => undefined };
  const noEvents: VolumeEvents = { provisioningFailed: () => undefined, volumeExpanded: () => undefined };
  const controller = new ControllerService({
    rds,
    arbiter: typeof options.arbiter === "function" ? options.arbiter(rds) : options.arbiter,
    sizeLimits: options.sizeLimits ?? DEFAULT_VOLUME_SIZE_LIMITS,
    parameterDefaults: { nvmePort: 4420, nvmeAddress: "127.0.0.1", basePath: options.basePath ?? "/raid10/csi" },
    ...(options.topology ? { topology: options.topology } : {}),
    events: options.events ?? noEvents,
    gauges: gauges ?? noGauges,
    hostAccessControl: options.hostAccessControl ?? false,
  });
  const identity = new IdentityServiceImpl({
    driverName: "rds.csi.srvlab.io",
    version: "test",
    capabilities: pluginCapabilities({ topology: options.topology !== undefined }),
    probe: async () => transport.state === "connected",
  });
  const endpoint = `unix://${options.socketDir}/csi.sock`;
  const server = await startCsiServer({
    endpoint: parseEndpoint(endpoint),
    services: [csiService(csi.IdentityService, identity), csiService(csi.ControllerService, controller)],
    logger,
    metrics,
  });
  return {
    endpoint,
    transport,
    rds,
    metrics,
    async stop() {
      await server.shutdown(1_000);
      await gauges?.stop();
      await transport.close();
    },
  };
}

/** The in-process controller on a simulated RDS of its own, in a temp dir of its own. */
export interface SimulatedController {
  readonly dir: string;
  readonly sim: RdsSimulator;
  /** the operator's key pair the controller logs in with (for commands a test runs as the operator) */
  readonly key: ReturnType<typeof generateEd25519KeyPair>;
  readonly controller: InProcessController;
  /** Stops the controller and the simulator and removes the directory. */
  stop(): Promise<void>;
}

/** A temp dir (named `<prefix>XXXXXX`), the simulator with a 100G pool in it, and the controller on it. */
export async function startSimulatedController(
  prefix: string,
  options: Omit<InProcessControllerOptions, "rds" | "socketDir">,
): Promise<SimulatedController> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const key = generateEd25519KeyPair();
  const removeDir = async (err: unknown): Promise<never> => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  };
  const sim = await startSimulator({ stateDir: join(dir, "rds"), authorizedKeys: key.public, poolSize: "100G" }).catch(removeDir);
  const controller = await startInProcessController({ rds: operatorLogin(sim, key.private), socketDir: dir, ...options }).catch(async (err: unknown) => {
    await sim.stop();
    return removeDir(err);
  });
  return {
    dir,
    sim,
    key,
    controller,
    async stop() {
      await controller.stop();
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
