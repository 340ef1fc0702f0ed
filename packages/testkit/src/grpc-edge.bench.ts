import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { credentials, Metadata } from "@grpc/grpc-js";
import { createLogger, csi, identityService, MetricsRegistry, parseEndpoint, startCsiServer } from "@rds-csi/core";
import { formatStats, latencyStats, type BenchReport } from "./latency-stats.js";

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
    return {
      lines: [
        `sequential Probe over unix socket: ${formatStats(stats)}`,
        `16 in flight: ${concurrentCalls} calls in ${seconds.toFixed(2)} s = ${(concurrentCalls / seconds).toFixed(0)} calls/s`,
      ],
      // Generous: the CSI sidecars make a few calls per second; this guards against a pathological regression.
      missedTargets: stats.p99 > 20 ? [`Probe p99 ${stats.p99.toFixed(2)} ms > 20 ms`] : [],
    };
  } finally {
    client.close();
    await server.shutdown(1000);
    await rm(dir, { recursive: true, force: true });
  }
}
