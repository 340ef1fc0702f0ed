import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { buildPublishContext, csi, DEFAULT_DRIVER_NAME } from "@rds-csi/core";
import { changeAsOperator, generateEd25519KeyPair, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { callUnary } from "./csi-client.js";
import { median, type Figure } from "./bench/figure.js";
import { FakeFabric, loopsOf } from "./fake-nvme/index.js";
import { freePort } from "./free-port.js";
import { formatStats, latencyStats, type BenchReport, type Distribution } from "./latency-stats.js";
import { processMemory, scrapeMetrics } from "./scrape-metrics.js";
import { startServiceProcess, type ServiceProcess } from "./service-process.js";
import { mountPointsUnder, unmountAllUnder } from "./system/system-rig.js";

const VOLUMES = 50;
/** Stage+publish runs in rounds of VOLUMES / ROUNDS volumes, each with its own timing of the external tools. */
const ROUNDS = 5;
/** Spare disks per round on which the external tools alone are timed. */
const SPARES_PER_ROUND = 2;
/** Stage+publish may take at most this much more than the external tools it runs. */
const OVERHEAD_TARGET = 1.2;
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
 * 1 GiB volumes one after another, as kubelet drives them, in 5 rounds of 10; in each round the same
 * external tools are also run directly on spare disks, so stage+publish is compared with what its tools
 * alone cost on this machine at that moment (target ≤ 1.2×, median round). Reports where a stage spends
 * its time (the plugin's own phase histogram on /metrics) and the plugin's resident memory idle and with
 * 50 volumes staged and published (target < 80 MB). Unpublishes and unstages
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
  const spares = Array.from({ length: ROUNDS * SPARES_PER_ROUND }, (_, i): Volume => {
    const id = `pvc-bench-spare-${String(i).padStart(3, "0")}`;
    return { id, nqn: NQN_PREFIX + id, staging: join(dir, "spare", id, "globalmount"), target: join(dir, "spare", id, "mount") };
  });
  await createDisks(sim, key.private, [...volumes, ...spares]);

  const fabric = await FakeFabric.create({ simulatorUrl: sim.controlUrl, baseDir: join(dir, "fabric") });
  // Unmount before the fabric detaches its loop devices: a mounted loop device is only detached lazily.
  cleanups.push(() => detachLoopsOf(sim), () => fabric.cleanup(), () => unmountAllUnder(dir));
  const metricsPort = await freePort();
  const etcDir = join(dir, "etc");
  await mkdir(etcDir);
  // The kubelet's root directory exists before any plugin runs; the node acts only on paths inside it.
  await mkdir(join(dir, "kubelet"));
  const nvmeCli = await fabric.writeShim();
  const service = await startServiceProcess(nodeLauncher, `unix://${join(dir, "csi.sock")}`, ["--metrics-address", `127.0.0.1:${metricsPort}`], {
    NODE_ID: "bench-node",
    NVME_CLI: nvmeCli,
    SYSFS_ROOT: fabric.sysfsRoot,
    DEV_ROOT: fabric.devRoot,
    ETC_DIR: etcDir,
    KUBELET_DIR: join(dir, "kubelet"),
    LOG_LEVEL: "warn",
  });
  cleanups.push(() => service.stop("SIGTERM"));
  const idle = await processMemory(metricsPort);

  const { hostNqn, hostId } = await hostIdentity(etcDir);
  const stageMs: number[] = [];
  const publishMs: number[] = [];
  const externalMs: number[] = [];
  const overheadRatios: number[] = [];
  const perRound = VOLUMES / ROUNDS;
  for (let round = 0; round < ROUNDS; round++) {
    const roundStagePublish: number[] = [];
    for (const volume of volumes.slice(round * perRound, (round + 1) * perRound)) {
      const staged = await timed(() => stage(service, volume));
      const published = await timed(() => publish(service, volume));
      stageMs.push(staged);
      publishMs.push(published);
      roundStagePublish.push(staged + published);
    }
    const roundExternal: number[] = [];
    for (const spare of spares.slice(round * SPARES_PER_ROUND, (round + 1) * SPARES_PER_ROUND)) {
      roundExternal.push(await externalSteps(spare, { nvmeCli, hostNqn, hostId, fabric }));
    }
    externalMs.push(...roundExternal);
    overheadRatios.push(median(roundStagePublish) / median(roundExternal));
    lines.push(
      `round ${round + 1}: stage+publish of ${perRound} volumes p50 ${median(roundStagePublish).toFixed(1)} ms; ` +
        `the same external tools alone on ${SPARES_PER_ROUND} spare disks ${roundExternal.map((ms) => ms.toFixed(1)).join(", ")} ms; ratio ${(median(roundStagePublish) / median(roundExternal)).toFixed(3)}`,
    );
  }
  const loaded = await processMemory(metricsPort);
  const metricsText = await scrapeMetrics(metricsPort);
  const mounted = (await mountPointsUnder(join(dir, "kubelet"))).length;
  if (mounted !== 2 * VOLUMES) missedTargets.push(`${mounted} mounts after staging and publishing ${VOLUMES} volumes, expected ${2 * VOLUMES}`);

  lines.push(
    `NodeStageVolume (new ${DISK_SIZE} ext4 volume, one at a time): ${formatStats(latencyStats(stageMs))}`,
    `NodePublishVolume (bind mount): ${formatStats(latencyStats(publishMs))}`,
    `stage+publish: ${formatStats(latencyStats(stageMs.map((ms, i) => ms + publishMs[i]!)))}`,
    `external tools alone (nvme connect until the namespace appears, blkid, mkfs.ext4, mount, bind mount): ${formatStats(latencyStats(externalMs))}`,
    ...phaseLines(metricsText),
    `node RSS idle ${idle.residentMb.toFixed(1)} MB, with ${VOLUMES} volumes staged and published ${loaded.residentMb.toFixed(1)} MB (target < ${RSS_TARGET_MB} MB)`,
    `  of which V8 heap in use: idle ${idle.heapUsedMb.toFixed(1)} MB, with ${VOLUMES} volumes ${loaded.heapUsedMb.toFixed(1)} MB`,
  );
  const rssTarget = { bound: RSS_TARGET_MB, strict: true, description: `< ${RSS_TARGET_MB} MB` };
  const figures: Figure[] = [
    { id: "node.stage_publish_overhead", label: "node stage+publish / its external tools alone", unit: "ratio", rounds: overheadRatios, target: { bound: OVERHEAD_TARGET, description: `<= ${OVERHEAD_TARGET} x the external steps` } },
    { id: "node.rss_idle", label: "node RSS idle", unit: "MB", rounds: [idle.residentMb], target: rssTarget },
    { id: "node.rss_50_volumes", label: `node RSS with ${VOLUMES} volumes`, unit: "MB", rounds: [loaded.residentMb], target: rssTarget },
  ];
  const distributions: Distribution[] = [
    { label: "NodeStageVolume (new ext4 volume)", samplesMs: stageMs },
    { label: "NodePublishVolume (bind mount)", samplesMs: publishMs },
    { label: "external tools of stage+publish", samplesMs: externalMs },
  ];
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
  return { lines, missedTargets, figures, distributions };
}

/**
 * The tools a stage+publish runs, run directly with the same arguments on a spare disk: `nvme connect`
 * (until the namespace's device appears, as the kernel's scan finishes after connect returns), `blkid`,
 * `mkfs.ext4`, `mount`, and the bind mount. Returns their summed time; the teardown is not timed.
 */
async function externalSteps(spare: Volume, host: { nvmeCli: string; hostNqn: string; hostId: string; fabric: FakeFabric }): Promise<number> {
  let total = 0;
  const step = async (file: string, args: string[]): Promise<void> => {
    total += await timed(() => run$(file, args, { timeout: 60_000 }));
  };
  const device = await connectSpare(spare, host);
  await mkdir(spare.staging, { recursive: true });
  await mkdir(spare.target, { recursive: true });
  total += device.ms;
  // blkid exits 2 on an empty device: the answer a new volume gets.
  total += await timed(() => run$("blkid", ["-p", "-o", "export", device.path]).catch((err: { code?: number }) => {
    if (err.code !== 2) throw err;
  }));
  await step("mkfs.ext4", ["-E", "nodiscard", device.path]);
  await step("mount", ["-t", "ext4", device.path, spare.staging]);
  await step("mount", ["--bind", spare.staging, spare.target]);
  await run$("umount", [spare.target]);
  await run$("umount", [spare.staging]);
  await run$(host.nvmeCli, ["disconnect", "-n", spare.nqn]);
  return total;
}

/** `nvme connect` as the plugin runs it, timed until the namespace's device node exists. */
async function connectSpare(spare: Volume, host: { nvmeCli: string; hostNqn: string; hostId: string; fabric: FakeFabric }): Promise<{ path: string; ms: number }> {
  const connectStarted = performance.now();
  await run$(host.nvmeCli, ["connect", "-t", "tcp", "-a", "127.0.0.1", "-s", "4420", "-n", spare.nqn, "--hostnqn", host.hostNqn, "--hostid", host.hostId], { timeout: 60_000 });
  let device: string | undefined;
  while ((device = (await host.fabric.namespace(spare.nqn))?.devicePath) === undefined || !existsSync(device)) {
    if (performance.now() - connectStarted > 30_000) throw new Error(`the namespace of ${spare.nqn} did not appear within 30 s of nvme connect`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { path: device, ms: performance.now() - connectStarted };
}

/** The plugin's host identity, as it wrote it under its etc directory on start. */
async function hostIdentity(etcDir: string): Promise<{ hostNqn: string; hostId: string }> {
  const read = async (name: string): Promise<string> => (await readFile(join(etcDir, "nvme", name), "utf8")).trim();
  return { hostNqn: await read("hostnqn"), hostId: await read("hostid") };
}

/** A `/disk add` per volume, as an operator (or the controller) would make them. */
async function createDisks(sim: RdsSimulator, privateKey: string, volumes: readonly Volume[]): Promise<void> {
  for (const volume of volumes) {
    await changeAsOperator(
      sim,
      privateKey,
      `/disk add type=file slot="${volume.id}" file-path="/raid10/vols/${volume.id}.img" file-size=${DISK_SIZE} ` +
        `nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${volume.nqn}"`,
    );
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

/** Loop devices over the RDS's backing files that a failed run left behind (the fabric detaches its own). */
async function detachLoopsOf(sim: RdsSimulator): Promise<void> {
  for (const disk of sim.disks()) {
    for (const loop of await loopsOf(disk.backingFile)) await run$("losetup", ["-d", loop], { timeout: 20_000 });
  }
}
