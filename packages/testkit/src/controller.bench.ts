import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { csi, GiB } from "@rds-csi/core";
import { generateEd25519KeyPair, startSimulator, type CommandLogEntry } from "@rds-csi/rds-simulator";
import { callUnary } from "./csi-client.js";
import { startFakeApiServer } from "./fake-apiserver/index.js";
import { freePort } from "./free-port.js";
import { formatStats, latencyStats, type BenchReport } from "./latency-stats.js";
import { processMemory } from "./scrape-metrics.js";
import { startServiceProcess, type ServiceProcess } from "./service-process.js";

const MUTATE_MS = 20;
/** Requests per concurrency level: enough for a p99 of more than a handful of samples, few enough for ~3 minutes in all. */
const LEVELS = [
  { inFlight: 1, requests: 100 },
  { inFlight: 10, requests: 200 },
  { inFlight: 100, requests: 400 },
] as const;
const WARM_UP_REQUESTS = 5;
const TOTAL_VOLUMES = 1000;
const FILL_IN_FLIGHT = 20;
const RSS_TARGET_MB = 120;
// testkit cannot depend on the controller (the controller's tests depend on testkit), so it is found by
// path; started through its launcher, with the V8 heap limits it runs with in production.
const controllerLauncher = fileURLToPath(new URL("../../csi-controller/bin/rds-csi-controller", import.meta.url));
const capability = csi.VolumeCapability.fromPartial({ mount: {}, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });

/**
 * The real controller process against an RDS that spends 20 ms on each mutating command and runs them
 * one at a time: CreateVolume latency and throughput at 1, 10 and 100 requests in flight, each set
 * against the RDS's serial bound (mutating commands × 20 ms). Then the controller's resident memory as
 * an operator sees it on /metrics, idle and once it has made 1,000 volumes (target < 120 MB).
 */
export async function run(): Promise<BenchReport> {
  const lines: string[] = [];
  const missedTargets: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), "rds-csi-bench-"));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  try {
    const key = generateEd25519KeyPair();
    const keyFile = join(dir, "id_ed25519");
    await writeFile(keyFile, key.private, { mode: 0o600 });
    const sim = await startSimulator({
      stateDir: join(dir, "rds"),
      authorizedKeys: key.public,
      poolName: "raid10",
      poolSize: "100T",
      latency: { mutateMs: MUTATE_MS },
    });
    cleanups.push(() => sim.stop());
    const api = await startFakeApiServer();
    cleanups.push(() => api.stop());
    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(kubeconfig, api.kubeConfig().exportConfig());
    const metricsPort = await freePort();
    const service = await startServiceProcess(controllerLauncher, `unix://${join(dir, "csi.sock")}`, ["--metrics-address", `127.0.0.1:${metricsPort}`], {
      RDS_ADDRESS: "127.0.0.1",
      RDS_SSH_PORT: String(sim.port),
      RDS_PRIVATE_KEY_FILE: keyFile,
      RDS_HOST_KEY_FINGERPRINT: sim.hostKeyFingerprint,
      RDS_BASE_PATH: "/raid10/csi",
      KUBECONFIG: kubeconfig,
    });
    cleanups.push(() => service.stop("SIGTERM"));

    await waitUntilReady(service);
    const idle = await processMemory(metricsPort);

    await createVolumes(service, WARM_UP_REQUESTS, 1); // JIT, SSH channels, gRPC connection
    for (const level of LEVELS) {
      const disksBefore = sim.disks().length;
      sim.clearCommandLog();
      const { latenciesMs, elapsedMs } = await createVolumes(service, level.requests, level.inFlight);
      const log = sim.commandLog();
      const mutations = log.filter(isMutating);
      const mutating = mutations.length;
      // Full listings (the volume gauges' re-read after each change) cost the RDS far more than a look-up.
      const listings = log.filter((entry) => entry.command.includes('where type="file"')).length;
      const boundMs = mutating * MUTATE_MS;
      // When the simulator's own work on a mutation outgrows its 20 ms, the queue is busier than the bound says.
      const busyMs = mutations.reduce((sum, entry) => sum + Date.parse(entry.finishedAt) - Date.parse(entry.startedAt), 0);
      const stats = latencyStats(latenciesMs);
      lines.push(
        `CreateVolume x${level.inFlight}: n=${stats.count} p50=${stats.p50.toFixed(2)}ms p99=${stats.p99.toFixed(2)}ms ` +
          `throughput=${(level.requests / (elapsedMs / 1000)).toFixed(1)}/s; ${mutating} mutating commands, ` +
          `serial bound ${(boundMs / 1000).toFixed(2)} s, ratio ${(elapsedMs / boundMs).toFixed(3)} ` +
          `(took ${(elapsedMs / 1000).toFixed(2)} s; RDS queue busy ${(busyMs / 1000).toFixed(2)} s, ${(busyMs / mutating).toFixed(1)} ms per mutation; ` +
          `${((log.length - mutating) / level.requests).toFixed(2)} reads per create, ${listings} of them full listings; ${disksBefore} disks on the RDS before)`,
      );
    }

    const fill = TOTAL_VOLUMES - sim.disks().length;
    const filled = await createVolumes(service, fill, FILL_IN_FLIGHT);
    const volumes = sim.disks().length;
    if (volumes !== TOTAL_VOLUMES) missedTargets.push(`${volumes} volumes on the RDS after the fill, expected ${TOTAL_VOLUMES}`);
    const loaded = await processMemory(metricsPort);
    lines.push(
      `fill: ${fill} more volumes at ${FILL_IN_FLIGHT} in flight, simulator latency kept at ${MUTATE_MS} ms per mutation: ` +
        `${(filled.elapsedMs / 1000).toFixed(2)} s, ${formatStats(latencyStats(filled.latenciesMs))}`,
      `controller RSS idle ${idle.residentMb.toFixed(1)} MB, after ${volumes} volumes ${loaded.residentMb.toFixed(1)} MB (target < ${RSS_TARGET_MB} MB)`,
      `  of which V8 heap in use: idle ${idle.heapUsedMb.toFixed(1)} MB, after ${volumes} volumes ${loaded.heapUsedMb.toFixed(1)} MB`,
    );
    if (idle.residentMb >= RSS_TARGET_MB) missedTargets.push(`controller RSS idle ${idle.residentMb.toFixed(1)} MB >= ${RSS_TARGET_MB} MB`);
    if (loaded.residentMb >= RSS_TARGET_MB) missedTargets.push(`controller RSS after ${volumes} volumes ${loaded.residentMb.toFixed(1)} MB >= ${RSS_TARGET_MB} MB`);
    return { lines, missedTargets };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup();
  }
}

/** `count` CreateVolume calls with distinct names, `inFlight` at a time; any failure fails the benchmark. */
async function createVolumes(
  service: ServiceProcess,
  count: number,
  inFlight: number,
): Promise<{ readonly latenciesMs: number[]; readonly elapsedMs: number }> {
  const { controller } = service.clients;
  const latenciesMs: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (issued < count) {
        issued++;
        const request = csi.CreateVolumeRequest.fromPartial({
          name: `pvc-${randomUUID()}`,
          capacityRange: { requiredBytes: GiB },
          volumeCapabilities: [capability],
        });
        const callStarted = performance.now();
        await callUnary(controller, controller.createVolume, request, { deadlineMs: 60_000 });
        latenciesMs.push(performance.now() - callStarted);
      }
    }),
  );
  return { latenciesMs, elapsedMs: performance.now() - started };
}

/** Read-only commands are `print`s; everything else goes through the RDS's one-at-a-time queue. */
function isMutating(entry: CommandLogEntry): boolean {
  return !entry.command.split(/\s+/u).includes("print");
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
