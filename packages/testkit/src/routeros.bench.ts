import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger, VolumeLayout } from "@rds-csi/core";
import { RouterOsRdsClient, Ssh2Transport } from "@rds-csi/core/routeros";
import { generateEd25519KeyPair, startSimulator } from "@rds-csi/rds-simulator";
import { formatStats, latencyStats, type BenchReport } from "./latency-stats.js";

const MUTATE_MS = 20;
const PAIRS = 200;
const GiB = 1024n ** 3n;

/**
 * The RouterOS layer's throughput against an RDS that spends 20 ms on each mutating command and runs
 * them one at a time: 200 create+delete pairs in flight at once. The RDS's own serial bound is the
 * number of mutating commands × 20 ms; the client should add little to it (target ≤ 1.10×).
 * The parser's own target is in routeros-parse.bench.ts.
 */
export async function run(): Promise<BenchReport> {
  const lines: string[] = [];
  const missedTargets: string[] = [];
  await createDeletePairs(lines, missedTargets);
  return { lines, missedTargets };
}

async function createDeletePairs(lines: string[], missedTargets: string[]): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), "rds-csi-bench-"));
  const key = generateEd25519KeyPair();
  const sim = await startSimulator({ stateDir, authorizedKeys: key.public, poolSize: "100T", latency: { mutateMs: MUTATE_MS } });
  const logger = createLogger({ level: "error", component: "bench", stream: new PassThrough().resume() });
  const transport = new Ssh2Transport({
    host: "127.0.0.1",
    port: sim.port,
    username: "admin",
    auth: { privateKey: key.private },
    hostKey: { fingerprint: sim.hostKeyFingerprint },
    logger,
  });
  transport.start();
  const client = new RouterOsRdsClient({
    transport,
    layout: new VolumeLayout({ basePath: "/raid10/csi", nqnPrefix: "nqn.2000-02.com.mikrotik" }),
    copyStrategy: { name: "disk-copy-from", trust: "unverified" },
    logger,
  });
  try {
    await client.capacity(AbortSignal.timeout(10_000)); // connect before the clock starts
    sim.clearCommandLog();
    const pairLatencies: number[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: PAIRS }, async (_, i) => {
        const id = `pvc-00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
        const signal = AbortSignal.timeout(120_000);
        const pairStarted = performance.now();
        await client.createVolume({ id, sizeBytes: GiB, port: 4420 }, signal);
        await client.deleteVolume(id, signal);
        pairLatencies.push(performance.now() - pairStarted);
      }),
    );
    const totalMs = performance.now() - started;
    const log = sim.commandLog();
    const mutating = log.filter((entry) => !entry.command.includes(" print ")).length;
    const boundMs = mutating * MUTATE_MS;
    const ratio = totalMs / boundMs;
    lines.push(
      `${PAIRS} concurrent create+delete pairs, ${MUTATE_MS} ms per mutating command: ${(totalMs / 1000).toFixed(2)} s`,
      `  ${mutating} mutating + ${log.length - mutating} read commands; serial bound ${(boundMs / 1000).toFixed(2)} s; ratio ${ratio.toFixed(3)} (target <= 1.10)`,
      `  per pair: ${formatStats(latencyStats(pairLatencies))}`,
    );
    if (ratio > 1.1) missedTargets.push(`create+delete ratio ${ratio.toFixed(3)} > 1.10 of the serial bound`);
    if (sim.disks().length !== 0) missedTargets.push(`${sim.disks().length} disks left behind`);
  } finally {
    await transport.close();
    await sim.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}
