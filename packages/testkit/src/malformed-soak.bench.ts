import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { csi } from "@rds-csi/core";
import { startBenchController } from "./bench/controller-process.js";
import type { Figure } from "./bench/figure.js";
import { callRawUnary, callUnary, type CsiClients } from "./csi-client.js";
import type { BenchReport } from "./latency-stats.js";
import { processMemory } from "./scrape-metrics.js";

const REQUESTS = 20_000;
const IN_FLIGHT = 32;
const SAMPLE_EVERY = 2_000;
const RSS_TARGET_MB = 120;
/** The size at which an error quoting the value used to stall the connection. */
const LONG = 100 * 1024;
const capability = csi.VolumeCapability.fromPartial({ mount: {}, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });

/**
 * The real controller process under a sustained stream of malformed requests, the kind a fuzzer sends
 * (values of 100 KB, invalid UTF-8, bytes that are no protobuf message, ids of no driver, unknown
 * parameters): its resident memory before, at every 2,000 requests, and after, as /metrics reports it.
 * Every request must be answered with the controller's own status (a DEADLINE_EXCEEDED or UNAVAILABLE
 * means a stalled connection) and none may create a volume. Target: RSS < 120 MB throughout.
 */
export async function run(): Promise<BenchReport> {
  const controller = await startBenchController();
  try {
    const { service, metricsPort, sim } = controller;
    const endpoint = `unix://${controller.dir}/csi.sock`;
    const malformed = malformedRequests(service.clients, endpoint);
    for (let i = 0; i < 200; i++) await malformed[i % malformed.length]!(i); // JIT, connection
    const before = await processMemory(metricsPort);
    const samples: { requests: number; residentMb: number; heapUsedMb: number }[] = [];
    let issued = 0;
    let answered = 0;
    const codes = new Map<number, number>();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (issued < REQUESTS) {
          const i = issued++;
          const code = codeOf(await malformed[i % malformed.length]!(i));
          codes.set(code, (codes.get(code) ?? 0) + 1);
          answered++;
          if (answered % SAMPLE_EVERY === 0) samples.push({ requests: answered, ...(await processMemory(metricsPort)) });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const after = await processMemory(metricsPort);
    const peak = Math.max(before.residentMb, after.residentMb, ...samples.map((sample) => sample.residentMb));
    const missedTargets = sim.disks().length === 0 ? [] : [`${sim.disks().length} volumes were created by malformed requests`];
    const stalled = (codes.get(status.DEADLINE_EXCEEDED) ?? 0) + (codes.get(status.UNAVAILABLE) ?? 0);
    if (stalled > 0) missedTargets.push(`${stalled} malformed requests got no answer from the controller (DEADLINE_EXCEEDED or UNAVAILABLE)`);
    const lines = [
      `${REQUESTS} malformed requests (${malformed.length} kinds), ${IN_FLIGHT} in flight, in ${seconds.toFixed(1)} s (${(REQUESTS / seconds).toFixed(0)}/s)`,
      `controller RSS before ${before.residentMb.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, after ${after.residentMb.toFixed(1)} MB (target < ${RSS_TARGET_MB} MB); V8 heap in use before ${before.heapUsedMb.toFixed(1)} MB, after ${after.heapUsedMb.toFixed(1)} MB`,
      `  answers by gRPC code: ${[...codes].sort(([a], [b]) => a - b).map(([code, count]) => `${status[code]} ${count}`).join(", ")}`,
      `  RSS by requests answered: ${samples.map((sample) => `${sample.requests}: ${sample.residentMb.toFixed(1)}`).join(", ")}`,
    ];
    const rssTarget = { bound: RSS_TARGET_MB, strict: true, description: `< ${RSS_TARGET_MB} MB` };
    const figures: Figure[] = [
      { id: "controller.soak_rss_before", label: "controller RSS before the malformed-request soak", unit: "MB", rounds: [before.residentMb], target: rssTarget },
      { id: "controller.soak_rss_peak", label: `controller RSS peak during ${REQUESTS} malformed requests`, unit: "MB", rounds: [peak], target: rssTarget },
      { id: "controller.soak_rss_after", label: `controller RSS after ${REQUESTS} malformed requests`, unit: "MB", rounds: [after.residentMb], target: rssTarget },
    ];
    return { lines, missedTargets, figures };
  } finally {
    await controller.stop();
  }
}

/** Each answers with some status; a rejection is the expected outcome, so it is swallowed. */
function malformedRequests(clients: CsiClients, endpoint: string): ((i: number) => Promise<unknown>)[] {
  const { controller: c } = clients;
  const settle = (call: Promise<unknown>): Promise<unknown> => call.catch((err: unknown) => err);
  const create = (partial: csi.DeepPartial<csi.CreateVolumeRequest>): Promise<unknown> =>
    settle(callUnary(c, c.createVolume, csi.CreateVolumeRequest.fromPartial({ name: "soak", volumeCapabilities: [capability], ...partial })));
  const invalidUtf8Name = Buffer.from(csi.CreateVolumeRequest.encode(csi.CreateVolumeRequest.fromPartial({ name: "soak-NAME", volumeCapabilities: [capability] })).finish());
  invalidUtf8Name.write("\xff\xfe", invalidUtf8Name.indexOf("NAME"), "latin1");
  return [
    (i) => create({ parameters: { nvmePort: `${i}${"9".repeat(LONG)}` } }),
    () => settle(callRawUnary(endpoint, "/csi.v1.Controller/CreateVolume", invalidUtf8Name)),
    (i) => settle(callUnary(c, c.deleteVolume, csi.DeleteVolumeRequest.fromPartial({ volumeId: `../x-${i}` }))),
    (i) => settle(callUnary(c, c.controllerPublishVolume, csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: `pvc-\n${i}`, nodeId: "n1", volumeCapability: capability }))),
    (i) => create({ parameters: { [`bogus-${i}`]: "1" } }),
    () => settle(callRawUnary(endpoint, "/csi.v1.Controller/CreateVolume", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))),
    (i) => settle(callUnary(c, c.validateVolumeCapabilities, csi.ValidateVolumeCapabilitiesRequest.fromPartial({ volumeId: `${i}${"v".repeat(LONG)}`, volumeCapabilities: [capability] }))),
    () => settle(callUnary(c, c.controllerExpandVolume, csi.ControllerExpandVolumeRequest.fromPartial({ volumeId: `pvc-${randomUUID()}` }))),
    (i) => create({ name: `soak-${i}`, volumeCapabilities: [{ ...capability, mount: { fsType: "", mountFlags: ["o".repeat(LONG)] } }] }),
  ];
}

function codeOf(outcome: unknown): number {
  return typeof outcome === "object" && outcome !== null && "code" in outcome && typeof outcome.code === "number" ? outcome.code : status.OK;
}
