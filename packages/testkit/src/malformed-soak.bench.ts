import { randomUUID } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { csi } from "@rds-csi/core";
import { startBenchController } from "./bench/controller-process.js";
import type { Figure } from "./bench/figure.js";
import { callRawUnary, callUnary, type CsiClients } from "./csi-client.js";
import { openHttp2Channel, type Http2GrpcChannel } from "./http2-grpc-channel.js";
import type { BenchReport } from "./latency-stats.js";
import { processMemory, type ProcessMemory } from "./scrape-metrics.js";

const ROUNDS = 3;
const REQUESTS = 12_000;
const IN_FLIGHT = 32;
const SAMPLE_EVERY_MS = 250;
const RSS_TARGET_MB = 120;
/** The size at which an error quoting the value used to stall the connection: over its field's limit, within the message limit. */
const LONG = 100 * 1024;
/** Over the message limit (REQUEST_LIMITS.messageBytes): refused from the length prefix. */
const HUGE = 1024 * 1024;
const capability = csi.VolumeCapability.fromPartial({ mount: {}, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });

interface Round {
  readonly seconds: number;
  readonly before: ProcessMemory;
  readonly peak: number;
  readonly after: ProcessMemory;
  readonly codes: ReadonlyMap<number, number>;
  readonly samples: readonly number[];
  readonly volumes: number;
  readonly kinds: number;
}

/**
 * The real controller process under a sustained stream of malformed requests, the kind a fuzzer sends
 * (values of 100 KB and of 1 MiB, invalid UTF-8, bytes that are no protobuf message, ids of no driver,
 * unknown parameters): its resident memory before, every 250 ms during, and after, as /metrics reports
 * it, in rounds of a fresh controller each. The 1 MiB values go over a connection of their own that
 * behaves as the sidecars' gRPC (http2-grpc-channel.ts). Every request must be answered with the
 * controller's own status (a DEADLINE_EXCEEDED or UNAVAILABLE means a stalled connection) and none may
 * create a volume. Target: RSS < 120 MB throughout.
 */
export async function run(): Promise<BenchReport> {
  const rounds: Round[] = [];
  for (let round = 0; round < ROUNDS; round++) rounds.push(await soak());
  const lines = [`${ROUNDS} rounds of ${REQUESTS} malformed requests (${rounds[0]!.kinds} kinds, 1 in 4 with a 1 MiB value), ${IN_FLIGHT} in flight, a fresh controller each`];
  const missedTargets: string[] = [];
  rounds.forEach((round, i) => {
    lines.push(
      `round ${i + 1}: ${round.seconds.toFixed(1)} s (${(REQUESTS / round.seconds).toFixed(0)}/s); RSS before ${round.before.residentMb.toFixed(1)} MB, peak ${round.peak.toFixed(1)} MB, after ${round.after.residentMb.toFixed(1)} MB; V8 heap in use before ${round.before.heapUsedMb.toFixed(1)} MB, after ${round.after.heapUsedMb.toFixed(1)} MB`,
      `  answers by gRPC code: ${[...round.codes].sort(([a], [b]) => a - b).map(([code, count]) => `${status[code]} ${count}`).join(", ")}`,
      `  RSS every ${SAMPLE_EVERY_MS} ms: ${round.samples.map((mb) => mb.toFixed(0)).join(" ")}`,
    );
    if (round.volumes > 0) missedTargets.push(`round ${i + 1}: ${round.volumes} volumes were created by malformed requests`);
    const stalled = (round.codes.get(status.DEADLINE_EXCEEDED) ?? 0) + (round.codes.get(status.UNAVAILABLE) ?? 0);
    if (stalled > 0) missedTargets.push(`round ${i + 1}: ${stalled} malformed requests got no answer from the controller (DEADLINE_EXCEEDED or UNAVAILABLE)`);
  });
  const rssTarget = { bound: RSS_TARGET_MB, strict: true, description: `< ${RSS_TARGET_MB} MB` };
  const figures: Figure[] = [
    { id: "controller.soak_rss_before", label: "controller RSS before the malformed-request soak", unit: "MB", rounds: rounds.map((r) => r.before.residentMb), target: rssTarget },
    { id: "controller.soak_rss_peak", label: `controller RSS peak during ${REQUESTS} malformed requests (incl. 1 MiB values)`, unit: "MB", rounds: rounds.map((r) => r.peak), target: rssTarget },
    { id: "controller.soak_rss_after", label: `controller RSS after ${REQUESTS} malformed requests (incl. 1 MiB values)`, unit: "MB", rounds: rounds.map((r) => r.after.residentMb), target: rssTarget },
  ];
  return { lines, missedTargets, figures };
}

async function soak(): Promise<Round> {
  const controller = await startBenchController();
  const channel = openHttp2Channel(`unix://${controller.dir}/csi.sock`);
  try {
    const { service, metricsPort, sim } = controller;
    const malformed = malformedRequests(service.clients, channel, `unix://${controller.dir}/csi.sock`);
    for (let i = 0; i < 200; i++) await malformed[i % malformed.length]!(i); // JIT, connections
    const before = await processMemory(metricsPort);
    const samples: number[] = [];
    let soaking = true;
    const sampler = (async () => {
      while (soaking) {
        samples.push((await processMemory(metricsPort)).residentMb);
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
      }
    })();
    let issued = 0;
    const codes = new Map<number, number>();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (issued < REQUESTS) {
          const i = issued++;
          const code = codeOf(await malformed[i % malformed.length]!(i));
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    soaking = false;
    await sampler;
    const after = await processMemory(metricsPort);
    const peak = Math.max(before.residentMb, after.residentMb, ...samples);
    return { seconds, before, peak, after, codes, samples, volumes: sim.disks().length, kinds: malformed.length };
  } finally {
    channel.close();
    await controller.stop();
  }
}

/** Each answers with some status; a rejection is the expected outcome, so it is swallowed. */
function malformedRequests(clients: CsiClients, channel: Http2GrpcChannel, endpoint: string): ((i: number) => Promise<unknown>)[] {
  const { controller: c } = clients;
  const settle = (call: Promise<unknown>): Promise<unknown> => call.catch((err: unknown) => err);
  const create = (partial: csi.DeepPartial<csi.CreateVolumeRequest>): Promise<unknown> =>
    settle(callUnary(c, c.createVolume, csi.CreateVolumeRequest.fromPartial({ name: "soak", volumeCapabilities: [capability], ...partial })));
  const createHuge = (partial: csi.DeepPartial<csi.CreateVolumeRequest>): Promise<unknown> =>
    channel.call("/csi.v1.Controller/CreateVolume", csi.CreateVolumeRequest.encode(csi.CreateVolumeRequest.fromPartial({ name: "soak", volumeCapabilities: [capability], ...partial })).finish());
  const invalidUtf8Name = Buffer.from(csi.CreateVolumeRequest.encode(csi.CreateVolumeRequest.fromPartial({ name: "soak-NAME", volumeCapabilities: [capability] })).finish());
  invalidUtf8Name.write("\xff\xfe", invalidUtf8Name.indexOf("NAME"), "latin1");
  return [
    (i) => create({ parameters: { nvmePort: `${i}${"9".repeat(LONG)}` } }),
    () => settle(callRawUnary(endpoint, "/csi.v1.Controller/CreateVolume", invalidUtf8Name)),
    (i) => createHuge({ parameters: { nvmePort: `${i}${"9".repeat(HUGE)}` } }),
    (i) => settle(callUnary(c, c.deleteVolume, csi.DeleteVolumeRequest.fromPartial({ volumeId: `../x-${i}` }))),
    (i) => settle(callUnary(c, c.controllerPublishVolume, csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: `pvc-\n${i}`, nodeId: "n1", volumeCapability: capability }))),
    (i) =>
      channel.call(
        "/csi.v1.Controller/ValidateVolumeCapabilities",
        csi.ValidateVolumeCapabilitiesRequest.encode(csi.ValidateVolumeCapabilitiesRequest.fromPartial({ volumeId: `${i}${"v".repeat(HUGE)}`, volumeCapabilities: [capability] })).finish(),
      ),
    (i) => create({ parameters: { [`bogus-${i}`]: "1" } }),
    () => settle(callRawUnary(endpoint, "/csi.v1.Controller/CreateVolume", Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))),
    (i) => createHuge({ name: `soak-${i}`, volumeCapabilities: [{ ...capability, mount: { fsType: "", mountFlags: ["o".repeat(HUGE)] } }] }),
    (i) => settle(callUnary(c, c.validateVolumeCapabilities, csi.ValidateVolumeCapabilitiesRequest.fromPartial({ volumeId: `${i}${"v".repeat(LONG)}`, volumeCapabilities: [capability] }))),
    () => settle(callUnary(c, c.controllerExpandVolume, csi.ControllerExpandVolumeRequest.fromPartial({ volumeId: `pvc-${randomUUID()}` }))),
    (i) => create({ name: `soak-${i}`, volumeCapabilities: [{ ...capability, mount: { fsType: "", mountFlags: ["o".repeat(LONG)] } }] }),
  ];
}

function codeOf(outcome: unknown): number {
  return typeof outcome === "object" && outcome !== null && "code" in outcome && typeof outcome.code === "number" ? outcome.code : status.OK;
}
