import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger, VolumeLayout } from "@rds-csi/core";
import { RouterOsRdsClient, Ssh2Transport } from "@rds-csi/core/routeros";
import { generateEd25519KeyPair, operatorLogin, startSimulator } from "@rds-csi/rds-simulator";
import { serialBusyMs } from "./bench/serial-bound.js";
import { formatStats, latencyStats, type BenchReport } from "./latency-stats.js";

const MUTATE_MS = 20;
const PAIRS = 200;
const ROUNDS = 3;
const GiB = 1024n ** 3n;

/**
 * The RouterOS layer's throughput against an RDS that spends 20 ms on each mutating command and runs
 * them one at a time: 200 create+delete pairs in flight at once. The RDS's own serial bound is the
 * time the simulator measurably spent on the mutating commands in the same round; the client should
 * add little to it (target ≤ 1.10×, median of 3 rounds). The parser's own target is in
 * routeros-parse.bench.ts.
 */
export async function run(): Promise<BenchReport> {
  const stateDir = await mkdtemp(join(tmpdir(), "rds-csi-bench-"));
  const key = generateEd25519KeyPair();
  const sim = await startSimulator({ stateDir, authorizedKeys: key.public, poolSize: "100T", latency: { mutateMs: MUTATE_MS } });
  const logger = createLogger({ level: "error", component: "bench", stream: new PassThrough().resume() });
  const transport = new Ssh2Transport({
    ...operatorLogin(sim, key.private),
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
    const lines: string[] = [];
    const missedTargets: string[] = [];
    const ratios: number[] = [];
    const pairLatencies: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      sim.clearCommandLog();
      const started = performance.now();
      await Promise.all(
        Array.from({ length: PAIRS }, async (_, i) => {
          const id = `pvc-00000000-0000-4000-8000-${String(round * PAIRS + i).padStart(12, "0")}`;
          const signal = AbortSignal.timeout(120_000);
          const pairStarted = performance.now();
          await client.createVolume({ id, sizeBytes: GiB, port: 4420 }, signal);
          await client.deleteVolume(id, signal);
          pairLatencies.push(performance.now() - pairStarted);
        }),
      );
      const totalMs = performance.now() - started;
      const log = sim.commandLog();
      const { mutations, busyMs } = serialBusyMs(log);
      ratios.push(totalMs / busyMs);
      lines.push(
        `round ${round + 1}: ${PAIRS} concurrent create+delete pairs in ${(totalMs / 1000).toFixed(2)} s; ${mutations} mutating + ${log.length - mutations} read commands; ` +
          `RDS busy ${(busyMs / 1000).toFixed(2)} s (${(busyMs / mutations).toFixed(1)} ms per mutation, ${MUTATE_MS} ms configured); ratio ${(totalMs / busyMs).toFixed(3)}`,
      );
      if (sim.disks().length !== 0) missedTargets.push(`round ${round + 1}: ${sim.disks().length} disks left behind`);
    }
    lines.push(`per pair: ${formatStats(latencyStats(pairLatencies))}`);
    return {
      lines,
      missedTargets,
      figures: [
        {
          id: "routeros.create_delete_ratio",
          label: `${PAIRS} concurrent create+delete pairs / RDS serial busy time`,
          unit: "ratio",
          rounds: ratios,
          target: { bound: 1.1, description: "<= 1.10 x measured serial bound" },
        },
      ],
      distributions: [{ label: `create+delete pair, ${PAIRS} in flight`, samplesMs: pairLatencies }],
    };
  } finally {
    await transport.close();
    await sim.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
}
