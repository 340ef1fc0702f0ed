import { randomUUID } from "node:crypto";
import { csi, GiB } from "@rds-csi/core";
import type { CommandLogEntry } from "@rds-csi/rds-simulator";
import { startBenchController } from "./bench/controller-process.js";
import type { Figure } from "./bench/figure.js";
import { isMutating, serialBusyMs } from "./bench/serial-bound.js";
import { callUnary } from "./csi-client.js";
import { formatStats, latencyStats, type BenchReport, type Distribution } from "./latency-stats.js";
import { processMemory } from "./scrape-metrics.js";
import type { ServiceProcess } from "./service-process.js";

const MUTATE_MS = 20;
/** Requests per concurrency level and round: enough for a p99 of more than a handful of samples, few enough for ~3 minutes in all. */
const LEVELS = [
  { inFlight: 1, requests: 40 },
  { inFlight: 10, requests: 100 },
  { inFlight: 100, requests: 300 },
] as const;
const ROUNDS = 3;
/** What CreateVolume p99 at 100 in flight may add to the serial bound of one request in that queue. */
const P99_SLACK_MS = 50;
const WARM_UP_REQUESTS = 5;
const TOTAL_VOLUMES = 1000;
const FILL_IN_FLIGHT = 20;
const RSS_TARGET_MB = 120;
const capability = csi.VolumeCapability.fromPartial({ mount: {}, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });

/**
 * The real controller process against an RDS that spends 20 ms on each mutating command and runs them
 * one at a time: CreateVolume latency and throughput at 1, 10 and 100 requests in flight, each set
 * against the RDS's busy time measured in the same round (3 rounds; p99 at 100 in flight ≤ one request's
 * serial bound + 50 ms). Then the controller's resident memory as an operator sees it on /metrics, idle
 * and once it has made at least 1,000 volumes (target < 120 MB).
 */
export async function run(): Promise<BenchReport> {
  const lines: string[] = [];
  const missedTargets: string[] = [];
  const controller = await startBenchController({ latency: { mutateMs: MUTATE_MS } });
  try {
    const { sim, service, metricsPort } = controller;
    const idle = await processMemory(metricsPort);

    await createVolumes(service, WARM_UP_REQUESTS, 1); // JIT, SSH channels, gRPC connection
    const figures: Figure[] = [];
    const distributions: Distribution[] = [];
    for (const level of LEVELS) {
      const p50s: number[] = [];
      const p99s: number[] = [];
      const p99Bounds: number[] = [];
      const ratios: number[] = [];
      const samples: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const disksBefore = sim.disks().length;
        sim.clearCommandLog();
        const { latenciesMs, calls, elapsedMs } = await createVolumes(service, level.requests, level.inFlight);
        const log = sim.commandLog();
        const { mutations, busyMs } = serialBusyMs(log);
        const requestBounds = latencyStats(perRequestSerialBoundsMs(calls, log));
        // Full listings (the volume gauge's timed listing; once, a re-read after each change) cost the RDS far more than a look-up.
        const listings = log.filter((entry) => entry.command.includes('where type="file"')).length;
        // With `inFlight` requests queued at the RDS's one-at-a-time mutation queue, a request waits for
        // the mutations of the requests ahead of it: on average inFlight × the RDS's busy time per create.
        const boundMs = (level.inFlight * busyMs) / level.requests;
        const stats = latencyStats(latenciesMs);
        p50s.push(stats.p50);
        p99s.push(stats.p99);
        // The p99 target is held against the p99 of the requests' own measured serial bounds: mutation
        // times vary (the simulator's own work grows with the disk count), and so does the wait.
        p99Bounds.push(requestBounds.p99 + P99_SLACK_MS);
        ratios.push(elapsedMs / busyMs);
        samples.push(...latenciesMs);
        lines.push(
          `round ${round + 1} CreateVolume x${level.inFlight}: n=${stats.count} p50=${stats.p50.toFixed(2)}ms p99=${stats.p99.toFixed(2)}ms ` +
            `throughput=${(level.requests / (elapsedMs / 1000)).toFixed(1)}/s; ${mutations} mutating commands, RDS busy ${(busyMs / 1000).toFixed(2)} s ` +
            `(${(busyMs / mutations).toFixed(1)} ms per mutation), elapsed/busy ${(elapsedMs / busyMs).toFixed(3)}, mean serial bound ${boundMs.toFixed(1)} ms, ` +
            `per-request serial bound p50 ${requestBounds.p50.toFixed(1)} ms / p99 ${requestBounds.p99.toFixed(1)} ms (n=${requestBounds.count}); ` +
            `${((log.length - mutations) / level.requests).toFixed(2)} reads per create, ${listings} of them full listings; ${disksBefore} disks on the RDS before`,
        );
      }
      const id = `controller.create_x${level.inFlight}`;
      figures.push(
        { id: `${id}_p50`, label: `CreateVolume p50, ${level.inFlight} in flight`, unit: "ms", rounds: p50s },
        level.inFlight === 100
          ? { id: `${id}_p99`, label: `CreateVolume p99, ${level.inFlight} in flight`, unit: "ms", rounds: p99s, target: { bound: p99Bounds, description: `<= p99 of the requests' measured serial bounds + ${P99_SLACK_MS} ms` } }
          : { id: `${id}_p99`, label: `CreateVolume p99, ${level.inFlight} in flight`, unit: "ms", rounds: p99s },
        { id: `${id}_elapsed_ratio`, label: `CreateVolume x${level.inFlight}: elapsed / RDS busy time`, unit: "ratio", rounds: ratios },
      );
      distributions.push({ label: `CreateVolume, ${level.inFlight} in flight`, samplesMs: samples });
    }

    const fill = Math.max(0, TOTAL_VOLUMES - sim.disks().length);
    const filled = await createVolumes(service, fill, FILL_IN_FLIGHT);
    const volumes = sim.disks().length;
    if (volumes < TOTAL_VOLUMES) missedTargets.push(`${volumes} volumes on the RDS after the fill, expected ${TOTAL_VOLUMES}`);
    const loaded = await processMemory(metricsPort);
    if (fill > 0) lines.push(`fill: ${fill} more volumes at ${FILL_IN_FLIGHT} in flight: ${(filled.elapsedMs / 1000).toFixed(2)} s, ${formatStats(latencyStats(filled.latenciesMs))}`);
    lines.push(
      `controller RSS idle ${idle.residentMb.toFixed(1)} MB, after ${volumes} volumes ${loaded.residentMb.toFixed(1)} MB (target < ${RSS_TARGET_MB} MB)`,
      `  of which V8 heap in use: idle ${idle.heapUsedMb.toFixed(1)} MB, after ${volumes} volumes ${loaded.heapUsedMb.toFixed(1)} MB`,
    );
    const rssTarget = { bound: RSS_TARGET_MB, strict: true, description: `< ${RSS_TARGET_MB} MB` };
    figures.push(
      { id: "controller.rss_idle", label: "controller RSS idle", unit: "MB", rounds: [idle.residentMb], target: rssTarget },
      { id: "controller.rss_1000_volumes", label: `controller RSS after ${volumes} volumes`, unit: "MB", rounds: [loaded.residentMb], target: rssTarget },
    );
    return { lines, missedTargets, figures, distributions };
  } finally {
    await controller.stop();
  }
}

/** `count` CreateVolume calls with distinct names, `inFlight` at a time; any failure fails the benchmark. */
/** One CreateVolume as the benchmark saw it: its name, when it was sent (epoch ms) and how long it took. */
interface CreateCall {
  readonly name: string;
  readonly sentAt: number;
  readonly latencyMs: number;
}

async function createVolumes(
  service: ServiceProcess,
  count: number,
  inFlight: number,
): Promise<{ readonly latenciesMs: number[]; readonly calls: CreateCall[]; readonly elapsedMs: number }> {
  const { controller } = service.clients;
  const calls: CreateCall[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, count) }, async () => {
      while (issued < count) {
        issued++;
        const name = `pvc-${randomUUID()}`;
        const request = csi.CreateVolumeRequest.fromPartial({ name, capacityRange: { requiredBytes: GiB }, volumeCapabilities: [capability] });
        const sentAt = Date.now();
        const callStarted = performance.now();
        await callUnary(controller, controller.createVolume, request, { deadlineMs: 60_000 });
        calls.push({ name, sentAt, latencyMs: performance.now() - callStarted });
      }
    }),
  );
  return { latenciesMs: calls.map((call) => call.latencyMs), calls, elapsedMs: performance.now() - started };
}

/**
 * Each request's own serial bound, measured: the time the RDS spent on the mutating commands it had to
 * wait for — every mutation that started after the request was sent and finished by the time its own
 * `/disk add` did (the simulator runs them one at a time). No controller could answer that request
 * sooner. Requests whose mutation is not in the log (none, normally) are left out.
 */
function perRequestSerialBoundsMs(calls: readonly CreateCall[], log: readonly CommandLogEntry[]): number[] {
  const mutations = log.filter(isMutating).map((entry) => ({ command: entry.command, start: Date.parse(entry.startedAt), finish: Date.parse(entry.finishedAt) }));
  const bounds: number[] = [];
  for (const call of calls) {
    const own = mutations.find((mutation) => mutation.command.includes(call.name));
    if (own === undefined) continue;
    // Log times have millisecond resolution: a mutation that started in the millisecond the request was sent counts.
    bounds.push(mutations.filter((m) => m.start >= call.sentAt - 1 && m.finish <= own.finish).reduce((sum, m) => sum + (m.finish - m.start), 0));
  }
  return bounds;
}
