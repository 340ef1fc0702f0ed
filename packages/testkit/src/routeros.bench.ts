import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger, parsePrintDetail, RouterOsRdsClient, Ssh2Transport, VolumeLayout } from "@rds-csi/core";
import { generateEd25519KeyPair, startSimulator } from "@rds-csi/rds-simulator";
import { formatStats, latencyStats, type BenchReport } from "./latency-stats.js";

const MUTATE_MS = 20;
const PAIRS = 200;
const GiB = 1024n ** 3n;

/**
 * The RouterOS layer's throughput against an RDS that spends 20 ms on each mutating command and runs
 * them one at a time: 200 create+delete pairs in flight at once. The RDS's own serial bound is the
 * number of mutating commands × 20 ms; the client should add little to it (target ≤ 1.10×).
 * Then the parser alone on a 10,000-disk `print detail` (target < 200 ms).
 */
export async function run(): Promise<BenchReport> {
  const lines: string[] = [];
  const missedTargets: string[] = [];
  await createDeletePairs(lines, missedTargets);
  parseLargeListing(lines, missedTargets);
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

function parseLargeListing(lines: string[], missedTargets: string[]): void {
  const disks = 10_000;
  const text = ["Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT", ...Array.from({ length: disks }, (_, i) => diskRecord(i))].join("\n");
  parsePrintDetail(text); // warm-up
  const samples: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    const records = parsePrintDetail(text);
    samples.push(performance.now() - started);
    if (records.length !== disks) missedTargets.push(`parsed ${records.length} records, expected ${disks}`);
  }
  const best = Math.min(...samples);
  lines.push(`parse ${disks}-disk print detail (${(text.length / 1e6).toFixed(1)} MB): best ${best.toFixed(1)} ms of 5, worst ${Math.max(...samples).toFixed(1)} ms (target < 200 ms)`);
  if (best >= 200) missedTargets.push(`parsing ${disks} disks took ${best.toFixed(1)} ms >= 200 ms`);
}

/** One record in the layout a real RDS prints, wrapped onto indented continuation lines. */
function diskRecord(i: number): string {
  const slot = `pvc-00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
  const index = String(i).padStart(5);
  return [
    `${index} Bt ;;; rds-csi:v1 kind:volume`,
    `        type=file slot="${slot}" slot-default="" parent="" fs=- model="/raid10/csi/${slot}.img"`,
    `        size=10 737 418 240 mount-filesystem=no mount-read-only=no compress=no sector-size=512`,
    `        raid-master=none nvme-tcp-export=yes nvme-tcp-server-port=4420`,
    `        nvme-tcp-server-nqn="nqn.2000-02.com.mikrotik:${slot}" nvme-tcp-server-allow-host-name=""`,
    `        iscsi-export=no nfs-sharing=no smb-sharing=no media-sharing=no media-interface=none swap=no`,
    `        file-path=/raid10/csi/${slot}.img file-size=10.0GiB file-offset=0`,
    "",
  ].join("\n");
}
