import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { credentials, Metadata } from "@grpc/grpc-js";
import { createLogger, csi, identityService, MetricsRegistry, parseEndpoint, startCsiServer } from "@rds-csi/core";
import { formatStats, latencyStats, type BenchReport } from "./latency-stats.js";

const ROUNDS = 3;

/**
 * Overhead of our gRPC edge (authority normalizer, interceptors, logging) per call, measured with
 * Probe over a unix socket: sequential latency and throughput at 16 calls in flight.
 */
export async function run(): Promise<BenchReport> {
  const dir = await mkdtemp(join(tmpdir(), "rds-csi-bench-"));
  const server = await startCsiServer({
    endpoint: parseEndpoint(`unix://${join(dir, "csi.sock")}`),
    services: [identityService({ driverName: "rds.csi.srvlab.io", version: "bench", capabilities: [], probe: async () => true })],
    logger: createLogger({ level: "info", component: "bench", stream: new PassThrough().resume() }),
    metrics: new MetricsRegistry(),
  });
  const client = new csi.IdentityClient(`unix://${join(dir, "csi.sock")}`, credentials.createInsecure());
  const probe = (): Promise<void> =>
    new Promise((resolve, reject) =>
      client.probe({}, new Metadata(), { deadline: Date.now() + 5000 }, (err) => (err ? reject(err) : resolve())),
    );
  try {
    for (let i = 0; i < 200; i++) await probe(); // warm-up: JIT, connection, HPACK tables
    const lines: string[] = [];
    const p99s: number[] = [];
    const throughputs: number[] = [];
    const allSamples: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const samples: number[] = [];
      for (let i = 0; i < 2000; i++) {
        const started = performance.now();
        await probe();
        samples.push(performance.now() - started);
      }
      const concurrentCalls = 4000;
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next++ < concurrentCalls) await probe();
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const stats = latencyStats(samples);
      p99s.push(stats.p99);
      throughputs.push(concurrentCalls / seconds);
      allSamples.push(...samples);
      lines.push(`round ${round + 1}: sequential Probe over unix socket: ${formatStats(stats)}; 16 in flight: ${concurrentCalls} calls in ${seconds.toFixed(2)} s = ${(concurrentCalls / seconds).toFixed(0)} calls/s`);
    }
    return {
      lines,
      figures: [
        // Generous: the CSI sidecars make a few calls per second; this guards against a pathological regression.
        { id: "grpc.probe_p99", label: "gRPC Probe p99 (sequential, unix socket)", unit: "ms", rounds: p99s, target: { bound: 20, description: "<= 20 ms" } },
        { id: "grpc.probe_throughput", label: "gRPC Probe calls/s at 16 in flight", unit: "ratio", rounds: throughputs },
      ],
      distributions: [{ label: "gRPC Probe (sequential)", samplesMs: allSamples }],
    };
  } finally {
    client.close();
    await server.shutdown(1000);
    await rm(dir, { recursive: true, force: true });
  }
}
