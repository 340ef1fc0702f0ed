import { Writable } from "node:stream";
import { createLogger, csi, DEFAULT_VOLUME_SIZE_LIMITS, GiB, UnavailableError, type CallContext } from "@rds-csi/core";
import { type RdsClient, type RdsVolume } from "@rds-csi/core/routeros";
import { type EventRecord, type EventRecorder, type EventSubject } from "@rds-csi/core/k8s";
import type { ClaimLookup } from "./claim-lookup.js";
import { ControllerService } from "./controller-service.js";
import { FakePublishArbiter } from "../test/support/fake-publish-arbiter.js";
import { PVC_NAME_PARAMETER, PVC_NAMESPACE_PARAMETER, PvcVolumeEvents } from "./volume-events.js";

const Mode = csi.VolumeCapability_AccessMode_Mode;
const ID = "pvc-0b6c2d2e-8d8a-4d4f-9a55-1f3c2a7e9b10";
const CLAIM: EventSubject = { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: "apps", name: "data-0", uid: "uid-data-0" };

class RecordingRecorder implements EventRecorder {
  readonly events: EventRecord[] = [];
  /** when true, a post waits until its signal aborts: an API server that stopped answering */
  hang = false;

  async record(event: EventRecord, signal: AbortSignal): Promise<void> {
    if (this.hang) await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason as Error)));
    this.events.push(event);
  }
}

/** The RDS as these handlers see it: volumes by id, a pool whose free space a test sets. */
class StubRds {
  readonly volumes = new Map<string, RdsVolume>();
  freeBytes = 100n * GiB;
  down = false;

  readonly client = {
    copyStrategy: { name: "disk-copy-from", trust: "unverified" },
    getVolume: async (id: string) => this.volumes.get(id),
    capacity: async () => {
      if (this.down) throw new UnavailableError("RDS 192.0.2.1 unreachable: ECONNREFUSED");
      return { totalBytes: 100n * GiB, freeBytes: this.freeBytes };
    },
    resizeVolume: async (id: string, sizeBytes: bigint) => this.put(id, sizeBytes),
  } as Partial<RdsClient> as RdsClient;

  put(id: string, sizeBytes: bigint): RdsVolume {
    const volume: RdsVolume = { id, filePath: `/raid1/csi/${id}.img`, sizeBytes, nqn: `nqn.2000-02.com.mikrotik:${id}`, port: 4420, exported: true, allowedHosts: [] };
    this.volumes.set(id, volume);
    return volume;
  }
}

let lines: string[];
let rds: StubRds;
let recorder: RecordingRecorder;
let lookups: string[];
let changes: number;

function start(timeoutMs?: number): { controller: ControllerService; events: PvcVolumeEvents } {
  const logger = createLogger({ level: "debug", component: "test", stream: new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }) });
  const claims: ClaimLookup = {
    ofVolume: async (volumeId) => (lookups.push(`volume ${volumeId}`), CLAIM),
    named: async (namespace, name) => (lookups.push(`claim ${namespace}/${name}`), { ...CLAIM, namespace, name }),
  };
  const events = new PvcVolumeEvents({ recorder, claims, logger, ...(timeoutMs ? { timeoutMs } : {}) });
  const controller = new ControllerService({
    rds: rds.client,
    arbiter: new FakePublishArbiter([]),
    sizeLimits: DEFAULT_VOLUME_SIZE_LIMITS,
    parameterDefaults: { nvmePort: 4420, nvmeAddress: "192.0.2.1", basePath: "/raid1/csi" },
    events,
    gauges: { changed: () => void changes++ },
    hostAccessControl: false,
  });
  return { controller, events };
}

beforeEach(() => {
  lines = [];
  rds = new StubRds();
  recorder = new RecordingRecorder();
  lookups = [];
  changes = 0;
});

function context(): CallContext {
  // The handlers never read the gRPC metadata.
  const partial: Omit<CallContext, "metadata"> = { requestId: "r1", method: "CreateVolume", signal: AbortSignal.timeout(5_000), logger: createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, cb) => cb() }) }) };
  return partial as CallContext;
}

function createRequest(parameters: Record<string, string> = { [PVC_NAMESPACE_PARAMETER]: "apps", [PVC_NAME_PARAMETER]: "data-0" }): csi.CreateVolumeRequest {
  return csi.CreateVolumeRequest.fromPartial({
    name: ID,
    capacityRange: { requiredBytes: 10n * GiB },
    volumeCapabilities: [{ mount: {}, accessMode: { mode: Mode.SINGLE_NODE_WRITER } }],
    parameters,
  });
}

const expandRequest = (bytes: bigint): csi.ControllerExpandVolumeRequest => csi.ControllerExpandVolumeRequest.fromPartial({ volumeId: ID, capacityRange: { requiredBytes: bytes } });

describe("volume events", () => {
  it("posts ProvisioningFailed on the claim named by the request parameters when the RDS is full", async () => {
    rds.freeBytes = GiB;
    const { controller, events } = start();
    await expect(controller.createVolume(createRequest(), context())).rejects.toThrow("10737418240 bytes requested, 1073741824 bytes free");
    await events.settled();
    expect(lookups).toEqual(["claim apps/data-0"]);
    expect(recorder.events).toEqual([
      {
        subject: CLAIM,
        type: "Warning",
        reason: "ProvisioningFailed",
        message: `cannot provision volume "${ID}": not enough free space on the RDS for volume ${ID}: 10737418240 bytes requested, 1073741824 bytes free`,
      },
    ]);
  });

  it("posts ProvisioningFailed for a request the user must fix (INVALID_ARGUMENT)", async () => {
    const { controller, events } = start();
    await expect(controller.createVolume(createRequest({ [PVC_NAMESPACE_PARAMETER]: "apps", [PVC_NAME_PARAMETER]: "data-0", fsTpye: "xfs" }), context())).rejects.toThrow("fsTpye");
    await events.settled();
    expect(recorder.events.map((event) => event.reason)).toEqual(["ProvisioningFailed"]);
  });

  it("posts nothing for UNAVAILABLE, which the provisioner retries", async () => {
    rds.down = true;
    const { controller, events } = start();
    await expect(controller.createVolume(createRequest(), context())).rejects.toBeInstanceOf(UnavailableError);
    await events.settled();
    expect(lookups).toEqual([]);
    expect(recorder.events).toEqual([]);
  });

  it("posts nothing without the claim parameters (external-provisioner without --extra-create-metadata)", async () => {
    rds.freeBytes = 0n;
    const { controller, events } = start();
    await expect(controller.createVolume(createRequest({}), context())).rejects.toThrow("bytes free");
    await events.settled();
    expect(lookups).toEqual([]);
    expect(recorder.events).toEqual([]);
  });

  it("posts VolumeExpanded on the claim of the volume after the disk grew, and only then", async () => {
    rds.put(ID, 10n * GiB);
    const { controller, events } = start();
    await expect(controller.controllerExpandVolume(expandRequest(20n * GiB), context())).resolves.toMatchObject({ capacityBytes: 20n * GiB });
    // A retry finds the disk grown already: nothing new to tell.
    await controller.controllerExpandVolume(expandRequest(20n * GiB), context());
    await events.settled();
    expect(lookups).toEqual([`volume ${ID}`]);
    expect(recorder.events).toEqual([{ subject: CLAIM, type: "Normal", reason: "VolumeExpanded", message: `volume ${ID} grew from 10737418240 to 21474836480 bytes on the RDS` }]);
    expect(changes).toBe(1);
  });

  it("answers the RPC without waiting for an API server that hangs; the post gives up at its deadline and is logged", async () => {
    rds.put(ID, 10n * GiB);
    recorder.hang = true;
    const { controller, events } = start(300);
    const started = Date.now();
    await controller.controllerExpandVolume(expandRequest(20n * GiB), context());
    expect(Date.now() - started).toBeLessThan(200);
    await events.settled();
    expect(recorder.events).toEqual([]);
    expect(lines.some((line) => line.includes("cannot post the VolumeExpanded event") && line.includes(ID))).toBe(true);
  });

  it("close aborts the posts in flight", async () => {
    rds.put(ID, 10n * GiB);
    recorder.hang = true;
    const { controller, events } = start();
    await controller.controllerExpandVolume(expandRequest(20n * GiB), context());
    await events.close();
    expect(recorder.events).toEqual([]);
    expect(lines.some((line) => line.includes("cannot post the VolumeExpanded event"))).toBe(true);
  });
});
