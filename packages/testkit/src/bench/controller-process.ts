import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateEd25519KeyPair, startSimulator, type RdsSimulator, type SimulatorOptions } from "@rds-csi/rds-simulator";
import { callUnary } from "../csi-client.js";
import { startFakeApiServer, type FakeApiServer } from "../fake-apiserver/index.js";
import { freePort } from "../free-port.js";
import { startServiceProcess, type ServiceProcess } from "../service-process.js";
import { rdsEnv } from "../system/rds-env.js";

// testkit cannot depend on the controller (the controller's tests depend on testkit), so it is found by
// path; started through its launcher, with the V8 heap limits it runs with in production.
const controllerLauncher = fileURLToPath(new URL("../../../csi-controller/bin/rds-csi-controller", import.meta.url));

export interface BenchController {
  readonly dir: string;
  readonly sim: RdsSimulator;
  readonly api: FakeApiServer;
  readonly service: ServiceProcess;
  /** Where its /metrics is served. */
  readonly metricsPort: number;
  stop(): Promise<void>;
}

/**
 * The real controller process, as the benchmarks measure it: against the simulator (its pool `raid10`
 * of 100T) and a fake API server, ready (its SSH connection up) when this resolves.
 */
export async function startBenchController(simulator: Pick<SimulatorOptions, "latency"> = {}): Promise<BenchController> {
  const dir = await mkdtemp(join(tmpdir(), "rds-csi-bench-"));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const key = generateEd25519KeyPair();
    const keyFile = join(dir, "id_ed25519");
    await writeFile(keyFile, key.private, { mode: 0o600 });
    const sim = await startSimulator({ stateDir: join(dir, "rds"), authorizedKeys: key.public, poolName: "raid10", poolSize: "100T", ...simulator });
    cleanups.push(() => sim.stop());
    const api = await startFakeApiServer();
    cleanups.push(() => api.stop());
    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(kubeconfig, api.kubeConfig().exportConfig());
    const metricsPort = await freePort();
    const service = await startServiceProcess(controllerLauncher, `unix://${join(dir, "csi.sock")}`, ["--metrics-address", `127.0.0.1:${metricsPort}`], {
      ...rdsEnv(sim, keyFile),
      KUBECONFIG: kubeconfig,
    });
    cleanups.push(() => service.stop("SIGTERM"));
    await waitUntilReady(service);
    return { dir, sim, api, service, metricsPort, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Probe turns ready once the controller's SSH connection to the RDS is up. */
async function waitUntilReady(service: ServiceProcess): Promise<void> {
  const { identity } = service.clients;
  const deadline = Date.now() + 20_000;
  while (!(await callUnary(identity, identity.probe, {})).ready) {
    if (Date.now() > deadline) throw new Error(`the controller was not ready within 20 s: ${service.output().stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
