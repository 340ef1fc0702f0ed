import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildPublishContext, createLogger, csi, DEFAULT_DRIVER_NAME } from "@rds-csi/core";
import { Ssh2Transport } from "@rds-csi/core/routeros";
import { generateEd25519KeyPair, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { callUnary } from "./csi-client.js";
import { FakeFabric, loopsOf } from "./fake-nvme/index.js";
import { freePort } from "./free-port.js";
import { formatStats, latencyStats, type BenchReport } from "./latency-stats.js";
import { processMemory, scrapeMetrics } from "./scrape-metrics.js";
import { startServiceProcess, type ServiceProcess } from "./service-process.js";

const VOLUMES = 50;
const DISK_SIZE = "1G";
const RSS_TARGET_MB = 80;
const NQN_PREFIX = "nqn.2000-02.com.mikrotik:";
const CALL_DEADLINE_MS = 60_000;
// testkit cannot depend on csi-node (its tests depend on testkit), so it is found by path; started
// through its launcher, with the V8 flags it runs with in production.
const nodeLauncher = fileURLToPath(new URL("../../csi-node/bin/rds-csi-node", import.meta.url));
const capability = csi.VolumeCapability.fromPartial({
  mount: { fsType: "ext4" },
  accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER },
});
const run$ = promisify(execFile);

interface Volume {
  readonly id: string;
  readonly nqn: string;
  readonly staging: string;
  readonly target: string;
}

/**
 * The real node plugin process on the fake NVMe fabric (loop devices) against the simulated RDS:
 * NodeStage (connect, device wait, blkid, mkfs.ext4, mount) + NodePublish (bind mount) for 50 new
 * 1 GiB volumes one after another, as kubelet drives them. Reports stage and publish latency, where a
 * stage spends its time (the plugin's own phase histogram on /metrics), and the plugin's resident
 * memory idle and with 50 volumes staged and published (target < 80 MB). Unpublishes and unstages
 * everything; on any failure the mounts, loop devices and temp files are removed all the same.
 */
export async function run(): Promise<BenchReport> {
  const dir = await mkdtemp(join(tmpdir(), "rds-csi-node-bench-"));
  const cleanups: Cleanup[] = [() => rm(dir, { recursive: true, force: true })];
  let report: BenchReport;
  try {
    report = await measure(dir, cleanups);
  } catch (err) {
    // The measurement's own error says more than a clean-up failure after it.
    for (const failure of await cleanUp(cleanups)) console.error(`clean-up after a failed benchmark: ${String(failure)}`);
    throw err;
  }
  const failures = await cleanUp(cleanups);
  if (failures.length > 0) throw new Error(`benchmark clean-up failed: ${String(failures[0])}`);
  return report;
}

type Cleanup = () => Promise<unknown>;

/** Runs every clean-up step, last registered first, even when one before it failed. */
async function cleanUp(cleanups: Cleanup[]): Promise<unknown[]> {
  const failures: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((err: unknown) => failures.push(err));
  return failures;
}

/** Registers a clean-up step in `cleanups` for everything it starts or makes. */
async function measure(dir: string, cleanups: Cleanup[]): Promise<BenchReport> {
  const lines: string[] = [];
  const missedTargets: string[] = [];
  const key = generateEd25519KeyPair();
  const sim = await startSimulator({ stateDir: join(dir, "rds"), authorizedKeys: key.public, poolSize: "10T" });
  cleanups.push(() => sim.stop());
  const volumes = Array.from({ length: VOLUMES }, (_, i): Volume => {
    const id = `pvc-bench-${String(i).padStart(3, "0")}`;
    const kubelet = join(dir, "kubelet");
    return {
      id,
      nqn: NQN_PREFIX + id,
      staging: join(kubelet, "plugins/kubernetes.io/csi", DEFAULT_DRIVER_NAME, id, "globalmount"),
      target: join(kubelet, "pods", `pod-${i}`, "volumes/kubernetes.io~csi", id, "mount"),
    };
  });
  await createDisks(sim, key.private, volumes);

  const fabric = await FakeFabric.create({ simulatorUrl: sim.controlUrl, baseDir: join(dir, "fabric") });
  // Unmount before the fabric detaches its loop devices: a mounted loop device is only detached lazily.
  cleanups.push(() => detachLoopsOf(sim), () => fabric.cleanup(), () => unmountAllUnder(dir));
  const metricsPort = await freePort();
  const etcDir = join(dir, "etc");
  await mkdir(etcDir);
  const service = await startServiceProcess(nodeLauncher, `unix://${join(dir, "csi.sock")}`, ["--metrics-address", `127.0.0.1:${metricsPort}`], {
    NODE_ID: "bench-node",
    NVME_CLI: await fabric.writeShim(),
    SYSFS_ROOT: fabric.sysfsRoot,
    DEV_ROOT: fabric.devRoot,
    ETC_DIR: etcDir,
    KUBELET_DIR: join(dir, "kubelet"),
    LOG_LEVEL: "warn",
  });
  cleanups.push(() => service.stop("SIGTERM"));
  const idle = await processMemory(metricsPort);

  const stageMs: number[] = [];
  const publishMs: number[] = [];
  for (const volume of volumes) {
    stageMs.push(await timed(() => stage(service, volume)));
    publishMs.push(await timed(() => publish(service, volume)));
  }
  const loaded = await processMemory(metricsPort);
  const metricsText = await scrapeMetrics(metricsPort);
  const mounted = (await mountPointsUnder(dir)).length;
  if (mounted !== 2 * VOLUMES) missedTargets.push(`${mounted} mounts after staging and publishing ${VOLUMES} volumes, expected ${2 * VOLUMES}`);

  lines.push(
    `NodeStageVolume (new ${DISK_SIZE} ext4 volume, one at a time): ${formatStats(latencyStats(stageMs))}`,
    `NodePublishVolume (bind mount): ${formatStats(latencyStats(publishMs))}`,
    `stage+publish: ${formatStats(latencyStats(stageMs.map((ms, i) => ms + publishMs[i]!)))}`,
    ...phaseLines(metricsText),
    `node RSS idle ${idle.residentMb.toFixed(1)} MB, with ${VOLUMES} volumes staged and published ${loaded.residentMb.toFixed(1)} MB (target < ${RSS_TARGET_MB} MB)`,
    `  of which V8 heap in use: idle ${idle.heapUsedMb.toFixed(1)} MB, with ${VOLUMES} volumes ${loaded.heapUsedMb.toFixed(1)} MB`,
  );
  if (idle.residentMb >= RSS_TARGET_MB) missedTargets.push(`node RSS idle ${idle.residentMb.toFixed(1)} MB >= ${RSS_TARGET_MB} MB`);
  if (loaded.residentMb >= RSS_TARGET_MB) missedTargets.push(`node RSS with ${VOLUMES} volumes ${loaded.residentMb.toFixed(1)} MB >= ${RSS_TARGET_MB} MB`);

  const teardownStarted = performance.now();
  for (const volume of volumes) {
    await callUnary(service.clients.node, service.clients.node.nodeUnpublishVolume, { volumeId: volume.id, targetPath: volume.target }, { deadlineMs: CALL_DEADLINE_MS });
    await callUnary(service.clients.node, service.clients.node.nodeUnstageVolume, { volumeId: volume.id, stagingTargetPath: volume.staging }, { deadlineMs: CALL_DEADLINE_MS });
  }
  lines.push(`unpublish+unstage of ${VOLUMES} volumes: ${((performance.now() - teardownStarted) / 1000).toFixed(2)} s`);
  const leftMounts = await mountPointsUnder(dir);
  const leftLoops = (await Promise.all(sim.disks().map((disk) => loopsOf(disk.backingFile)))).flat();
  if (leftMounts.length > 0 || leftLoops.length > 0) {
    missedTargets.push(`after unstaging everything: ${leftMounts.length} mounts and ${leftLoops.length} loop devices left (cleaned up by the benchmark)`);
  }
  return { lines, missedTargets };
}

/** One SSH session to the RDS, a `/disk add` per volume, as an operator (or the controller) would make them. */
async function createDisks(sim: RdsSimulator, privateKey: string, volumes: readonly Volume[]): Promise<void> {
  const transport = new Ssh2Transport({
    host: "127.0.0.1",
    port: sim.port,
    username: "admin",
    auth: { privateKey },
    hostKey: { fingerprint: sim.hostKeyFingerprint },
    logger: createLogger({ level: "error", component: "bench" }),
  });
  transport.start();
  try {
    for (const volume of volumes) {
      const command =
        `/disk add type=file slot="${volume.id}" file-path="/raid10/vols/${volume.id}.img" file-size=${DISK_SIZE} ` +
        `nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${volume.nqn}"`;
      const out = (await transport.run(command, { signal: AbortSignal.timeout(20_000), timeoutMs: 10_000 })).stdout;
      if (out.trim() !== "") throw new Error(`${command}: ${out}`);
    }
  } finally {
    await transport.close();
  }
}

function stage(service: ServiceProcess, volume: Volume): Promise<unknown> {
  const { node } = service.clients;
  const request = csi.NodeStageVolumeRequest.fromPartial({
    volumeId: volume.id,
    publishContext: buildPublishContext({ address: "127.0.0.1", port: 4420, nqn: volume.nqn }),
    stagingTargetPath: volume.staging,
    volumeCapability: capability,
  });
  return callUnary(node, node.nodeStageVolume, request, { deadlineMs: CALL_DEADLINE_MS });
}

function publish(service: ServiceProcess, volume: Volume): Promise<unknown> {
  const { node } = service.clients;
  const request = csi.NodePublishVolumeRequest.fromPartial({
    volumeId: volume.id,
    publishContext: buildPublishContext({ address: "127.0.0.1", port: 4420, nqn: volume.nqn }),
    stagingTargetPath: volume.staging,
    targetPath: volume.target,
    volumeCapability: capability,
  });
  return callUnary(node, node.nodePublishVolume, request, { deadlineMs: CALL_DEADLINE_MS });
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/**
 * Mean time per stage phase from the plugin's histogram (sum / count), against the mean NodeStageVolume
 * the plugin itself measured; the rest is the untimed work between phases.
 */
function phaseLines(text: string): string[] {
  const series = (name: string, label: string): Map<string, number> => {
    const values = new Map<string, number>();
    for (const match of text.matchAll(new RegExp(`^${name}\\{${label}="([A-Za-z_]+)"\\} (\\S+)$`, "gmu"))) values.set(match[1]!, Number(match[2]));
    return values;
  };
  const sums = series("rds_csi_node_stage_phase_duration_seconds_sum", "phase");
  const counts = series("rds_csi_node_stage_phase_duration_seconds_count", "phase");
  const stageSum = Number(/^rds_csi_grpc_request_duration_seconds_sum\{service="csi\.v1\.Node",method="NodeStageVolume"\} (\S+)$/mu.exec(text)?.[1]);
  const stageCount = Number(/^rds_csi_grpc_request_duration_seconds_count\{service="csi\.v1\.Node",method="NodeStageVolume"\} (\S+)$/mu.exec(text)?.[1]);
  if (sums.size === 0 || !(stageCount > 0)) return ["stage phases: none on /metrics"];
  let phasesPerStage = 0;
  const parts = [...sums].map(([phase, sum]) => {
    const count = counts.get(phase) ?? 0;
    phasesPerStage += sum / stageCount;
    return `${phase} ${((sum / count) * 1000).toFixed(1)}ms (n=${count})`;
  });
  const stageMeanMs = (stageSum / stageCount) * 1000;
  return [
    `stage phases, mean per run from the plugin's histogram: ${parts.join(", ")}`,
    `  plugin-side NodeStageVolume mean ${stageMeanMs.toFixed(1)}ms, of which untimed between phases ${(stageMeanMs - phasesPerStage * 1000).toFixed(1)}ms`,
  ];
}

/** Mount points at or below `dir`, deepest (most recently stacked) first. */
async function mountPointsUnder(dir: string): Promise<string[]> {
  const table = await readFile("/proc/self/mountinfo", "utf8");
  // mountinfo field 5 is the mount point, with spaces and the like octal-escaped.
  const points = table
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((point): point is string => point !== undefined && point.startsWith(`${dir}/`));
  return points.reverse();
}

/** Loop devices over the RDS's backing files that a failed run left behind (the fabric detaches its own). */
async function detachLoopsOf(sim: RdsSimulator): Promise<void> {
  for (const disk of sim.disks()) {
    for (const loop of await loopsOf(disk.backingFile)) await run$("losetup", ["-d", loop], { timeout: 20_000 });
  }
}

async function unmountAllUnder(dir: string): Promise<void> {
  for (const point of await mountPointsUnder(dir)) {
    await run$("umount", [point], { timeout: 20_000 }).catch(() => run$("umount", ["--lazy", point], { timeout: 20_000 }));
  }
}
