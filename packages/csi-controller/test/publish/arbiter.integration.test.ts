import { Writable } from "node:stream";
import {
  createLogger,
  csi,
  FailedPreconditionError,
  MetricsRegistry,
  NotFoundError,
  PUBLISH_CONTEXT_KEYS,
  ResourceExhaustedError,
  UnavailableError,
  type CallContext,
} from "@rds-csi/core";
import { type RdsClient, type RdsVolume } from "@rds-csi/core/routeros";
import { HOST_NQN_ANNOTATION, KubeEventRecorder } from "@rds-csi/core/k8s";
import { fakeKubeClient, startFakeApiServer, type FakeApiServer } from "@rds-csi/testkit";
import type { ManagedPublishArbiter } from "../../src/publish-arbiter.js";
import { volumeAttachmentName } from "../../src/publish/attachment-record.js";
import { createPublishArbiter, NO_HOST_NQN } from "../../src/publish/index.js";
import { eventually } from "../support/eventually.js";

const DRIVER = "rds.csi.srvlab.io";
const Mode = csi.VolumeCapability_AccessMode_Mode;
const silent = createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

const hostNqn = (node: string): string => `nqn.2014-08.org.nvmexpress:uuid:${node}`;

/** The RDS as the arbiter sees it: only the export's allow-list, recorded per volume. */
class RecordingRds {
  readonly allowed = new Map<string, readonly string[]>();
  readonly missing = new Set<string>();
  /** when set, setAllowedHosts waits for it: a publish caught in the middle */
  gate: Promise<void> | undefined;
  calls = 0;

  readonly client = {
    setAllowedHosts: async (id: string, hostNqns: readonly string[]): Promise<RdsVolume> => {
      this.calls++;
      await this.gate;
      if (this.missing.has(id)) throw new NotFoundError(`volume ${id} does not exist on the RDS`);
      this.allowed.set(id, [...hostNqns].sort());
      return volume(id);
    },
  } as Partial<RdsClient> as RdsClient;
}

function volume(id: string, exported = true): RdsVolume {
  return { id, filePath: `/raid1/csi/${id}.img`, sizeBytes: 1n << 30n, nqn: `nqn.2000-02.com.mikrotik:${id}`, port: 4420, exported, allowedHosts: [] };
}

function context(signal: AbortSignal = AbortSignal.timeout(5_000)): CallContext {
  // The arbiter never reads the gRPC metadata.
  const partial: Omit<CallContext, "metadata"> = { requestId: "r1", method: "ControllerPublishVolume", signal, logger: silent };
  return partial as CallContext;
}

const singleWriter: csi.VolumeCapability = { mount: { fsType: "ext4", mountFlags: [], volumeMountGroup: "" }, accessMode: { mode: Mode.SINGLE_NODE_WRITER } };
const rwxBlock: csi.VolumeCapability = { block: {}, accessMode: { mode: Mode.MULTI_NODE_MULTI_WRITER } };

function publishRequest(volumeId: string, nodeId: string, capability: csi.VolumeCapability = singleWriter): csi.ControllerPublishVolumeRequest {
  return { volumeId, nodeId, volumeCapability: capability, readonly: false, secrets: {}, volumeContext: {} };
}

async function failure(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to fail");
}

interface Cluster {
  readonly server: FakeApiServer;
  /** `attachLimit`: the CSINode's allocatable.count for this driver, as kubelet writes max_volumes_per_node. */
  node(name: string, options?: { driver?: boolean; csiNode?: boolean; annotated?: boolean; attachLimit?: number }): void;
  /** a PV of this driver bound to PVC `default/<claim>`; returns the volume id */
  volume(id: string, options?: { rwxBlock?: boolean; attributes?: Record<string, string> }): string;
  attachment(volumeId: string, node: string, options?: { attached?: boolean; deleting?: boolean; createdAt?: string; attachError?: boolean }): string;
}

let cluster: Cluster;
let rds: RecordingRds;
let metrics: MetricsRegistry;
const arbiters: ManagedPublishArbiter[] = [];

beforeEach(async () => {
  const server = await startFakeApiServer({ bookmarkIntervalMs: 200 });
  rds = new RecordingRds();
  cluster = {
    server,
    node(name, options = {}) {
      const annotations = options.annotated === false ? {} : { [HOST_NQN_ANNOTATION]: hostNqn(name) };
      server.put("Node", { apiVersion: "v1", kind: "Node", metadata: { name, annotations } });
      if (options.csiNode === false) return;
      const allocatable = options.attachLimit === undefined ? {} : { allocatable: { count: options.attachLimit } };
      const drivers = options.driver === false ? [{ name: "other.csi.example.com", nodeID: name }] : [{ name: DRIVER, nodeID: name, ...allocatable }];
      server.put("CSINode", { apiVersion: "storage.k8s.io/v1", kind: "CSINode", metadata: { name }, spec: { drivers } });
    },
    volume(id, options = {}) {
      server.put("PersistentVolumeClaim", {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: `claim-${id}`, namespace: "default", uid: `uid-${id}` },
        spec: {},
      });
      server.put("PersistentVolume", {
        apiVersion: "v1",
        kind: "PersistentVolume",
        // A static PV whose name is not the volume handle: the arbiter must resolve the handle.
        metadata: { name: `pv-for-${id}` },
        spec: {
          accessModes: options.rwxBlock ? ["ReadWriteMany"] : ["ReadWriteOnce"],
          volumeMode: options.rwxBlock ? "Block" : "Filesystem",
          csi: { driver: DRIVER, volumeHandle: id, volumeAttributes: options.attributes ?? {} },
          claimRef: { kind: "PersistentVolumeClaim", namespace: "default", name: `claim-${id}`, uid: `uid-${id}` },
        },
      });
      return id;
    },
    attachment(volumeId, node, options = {}) {
      const name = volumeAttachmentName(volumeId, DRIVER, node);
      const metadata: Record<string, unknown> = { name };
      if (options.createdAt) metadata["creationTimestamp"] = options.createdAt;
      if (options.deleting) Object.assign(metadata, { deletionTimestamp: new Date().toISOString(), finalizers: ["external-attacher/rds-csi-srvlab-io"] });
      server.put("VolumeAttachment", {
        apiVersion: "storage.k8s.io/v1",
        kind: "VolumeAttachment",
        metadata,
        spec: { attacher: DRIVER, nodeName: node, source: { persistentVolumeName: `pv-for-${volumeId}` } },
        status: { attached: options.attached ?? false, ...(options.attachError ? { attachError: { message: "boom", time: new Date().toISOString() } } : {}) },
      });
      return name;
    },
  };
  for (const name of ["n1", "n2", "n3"]) cluster.node(name);
});

afterEach(async () => {
  await Promise.all(arbiters.splice(0).map((arbiter) => arbiter.close()));
  await cluster.server.stop();
});

/** A new controller process: its own arbiter and metrics registry, nothing carried over. */
function start(options: { hostAccessControl?: boolean } = {}): ManagedPublishArbiter {
  metrics = new MetricsRegistry();
  const arbiter = createPublishArbiter({
    rds: rds.client,
    driverName: DRIVER,
    logger: silent,
    metrics,
    client: fakeKubeClient(cluster.server.url),
    hostAccessControl: options.hostAccessControl ?? false,
    nvmeAddress: (volumeContext) => volumeContext["nvmeAddress"] ?? "10.0.0.9",
    migrationCheckIntervalMs: 50,
    informerTuning: { backoffInitialMs: 20, backoffMaxMs: 100, jitter: 0 },
  });
  arbiters.push(arbiter);
  return arbiter;
}

async function metric(line: string): Promise<number | undefined> {
  const found = (await metrics.metrics()).split("\n").find((candidate) => candidate.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.split(" ").at(-1));
}

describe("VolumeAttachmentArbiter over a fake API server (real HTTP)", () => {
  it("RWO: a second node gets FAILED_PRECONDITION naming the holder; the holder's repeat is OK with the publish context", async () => {
    const id = cluster.volume("pvc-rwo");
    cluster.attachment(id, "n1", { attached: true });
    cluster.attachment(id, "n2");
    const arbiter = start();

    const refused = await failure(arbiter.publish(publishRequest(id, "n2"), volume(id), context()));
    expect(refused).toBeInstanceOf(FailedPreconditionError);
    expect(refused.message).toBe(
      `volume pvc-rwo is published to another node and can be attached to one node at a time: node n1 (VolumeAttachment ${volumeAttachmentName(id, DRIVER, "n1")} is attached)`,
    );
    expect(await metric('rds_csi_controller_attach_conflicts_total{reason="single_node"}')).toBe(1);

    const again = await arbiter.publish({ ...publishRequest(id, "n1"), volumeContext: { nvmeAddress: "192.0.2.7" } }, volume(id), context());
    expect(again.publishContext).toEqual({
      [PUBLISH_CONTEXT_KEYS.address]: "192.0.2.7",
      [PUBLISH_CONTEXT_KEYS.port]: "4420",
      [PUBLISH_CONTEXT_KEYS.nqn]: "nqn.2000-02.com.mikrotik:pvc-rwo",
    });
    expect(await arbiter.publishedNodes(id)).toEqual(["n1"]);
    // Without host access control the export is never touched, and unpublish has nothing to undo.
    await arbiter.unpublish({ volumeId: id, nodeId: "n1", secrets: {} }, context());
    expect(rds.allowed.size).toBe(0);
  });

  it("RWO: a VolumeAttachment being deleted still holds the volume until it is gone; then the next node gets it", async () => {
    const id = cluster.volume("pvc-detach");
    const holder = cluster.attachment(id, "n1", { attached: true, deleting: true });
    cluster.attachment(id, "n2");
    const arbiter = start();
    const refused = await failure(arbiter.publish(publishRequest(id, "n2"), volume(id), context()));
    expect(refused.message).toMatch(/node n1 \(VolumeAttachment .* is being deleted/);

    // The external-attacher's ControllerUnpublish succeeded and its finalizer is gone: the object goes.
    cluster.server.remove("VolumeAttachment", undefined, holder);
    await eventually(async () => {
      await arbiter.publish(publishRequest(id, "n2"), volume(id), context());
    });
  });

  it("RWX block: two nodes for a live migration, a third is refused, and an overdue migration is reported on the PVC", async () => {
    const id = cluster.volume("pvc-vm", { rwxBlock: true, attributes: { migrationWindowSeconds: "60" } });
    const longAgo = new Date(Date.now() - 120_000).toISOString();
    cluster.attachment(id, "n1", { attached: true, createdAt: longAgo });
    cluster.attachment(id, "n2", { createdAt: longAgo });
    const arbiter = start();

    await arbiter.publish(publishRequest(id, "n2", rwxBlock), volume(id), context());
    cluster.attachment(id, "n2", { attached: true, createdAt: longAgo });
    cluster.attachment(id, "n3");
    await eventually(async () => expect(await arbiter.publishedNodes(id)).toEqual(["n1", "n2"]));

    const third = await failure(arbiter.publish(publishRequest(id, "n3", rwxBlock), volume(id), context()));
    expect(third).toBeInstanceOf(FailedPreconditionError);
    expect(third.message).toMatch(/^volume pvc-vm is already published to 2 nodes, the most a live migration uses: node n1 .*; node n2 /);
    expect(await metric('rds_csi_controller_attach_conflicts_total{reason="migration_limit"}')).toBe(1);

    // The two attachments are 120 s old and the window is 60 s: reported once, never detached.
    await eventually(() => {
      const events = cluster.server.list("Event").filter((event) => event["reason"] === "MigrationOverdue");
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        metadata: { namespace: "default" },
        type: "Warning",
        involvedObject: { kind: "PersistentVolumeClaim", namespace: "default", name: "claim-pvc-vm", uid: "uid-pvc-vm" },
      });
      expect(String(events[0]!["message"])).toMatch(/^live migration of volume pvc-vm between nodes n1 and n2 has kept it on both for 12\d s, longer than its window of 60 s/);
    });
    expect(await metric("rds_csi_controller_migrations_overdue_total")).toBe(1);
    expect(await metric("rds_csi_controller_migrations_in_progress")).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(cluster.server.list("Event").filter((event) => event["reason"] === "MigrationOverdue")).toHaveLength(1);
    expect(await metric("rds_csi_controller_migrations_overdue_total")).toBe(1);
    expect(cluster.server.list("VolumeAttachment")).toHaveLength(3);
  });

  it("a controller restarted in the middle of a publish is rebuilt from VolumeAttachments and refuses a second node", async () => {
    const id = cluster.volume("pvc-restart");
    // The attacher created n1's attachment and called ControllerPublish; the controller dies mid-call.
    cluster.attachment(id, "n1", { createdAt: new Date(Date.now() - 5_000).toISOString() });
    let open!: () => void;
    rds.gate = new Promise((resolve) => (open = resolve));
    const first = start({ hostAccessControl: true });
    const caller = new AbortController();
    const inFlight = first.publish(publishRequest(id, "n1"), volume(id), context(caller.signal));
    await eventually(() => expect(rds.calls).toBe(1));
    caller.abort(new Error("controller killed"));
    await expect(inFlight).rejects.toThrow("controller killed");
    await first.close();
    open();
    rds.gate = undefined;

    // A new instance (nothing carried over) sees n1's older, still attaching VolumeAttachment.
    cluster.attachment(id, "n2");
    const second = start({ hostAccessControl: true });
    const refused = await failure(second.publish(publishRequest(id, "n2"), volume(id), context()));
    expect(refused).toBeInstanceOf(FailedPreconditionError);
    expect(refused.message).toMatch(/node n1 \(VolumeAttachment .*, created earlier, is attaching\)/);

    // The attacher retries n1 against the new instance: granted, and the export admits n1 only.
    await second.publish(publishRequest(id, "n1"), volume(id), context());
    expect(rds.allowed.get(id)).toEqual([hostNqn("n1")]);

    // Once n1 is recorded attached, yet another instance still refuses n2.
    cluster.attachment(id, "n1", { attached: true });
    const third = start();
    await eventually(async () => {
      const err = await failure(third.publish(publishRequest(id, "n2"), volume(id), context()));
      expect(err.message).toMatch(/node n1 \(VolumeAttachment .* is attached\)/);
    });
  });

  it("unpublish succeeds after the node was deleted, and revokes host access without opening the export to any host", async () => {
    const id = cluster.volume("pvc-gone-node");
    cluster.attachment(id, "n1");
    const arbiter = start({ hostAccessControl: true });
    await arbiter.publish(publishRequest(id, "n1"), volume(id), context());
    expect(rds.allowed.get(id)).toEqual([hostNqn("n1")]);

    cluster.attachment(id, "n1", { attached: true, deleting: true });
    cluster.server.remove("Node", undefined, "n1");
    cluster.server.remove("CSINode", undefined, "n1");
    await arbiter.unpublish({ volumeId: id, nodeId: "n1", secrets: {} }, context());
    // RouterOS reads an empty allow-list as "any host"; nobody is spelled as a name no host has.
    expect(rds.allowed.get(id)).toEqual([NO_HOST_NQN]);

    // A volume that is gone from the RDS is unpublished as well.
    rds.missing.add(id);
    await arbiter.unpublish({ volumeId: id, nodeId: "n1", secrets: {} }, context());
    // Without a node id the volume is unpublished from every node.
    rds.missing.delete(id);
    rds.allowed.set(id, [hostNqn("n2")]);
    await arbiter.unpublish({ volumeId: id, nodeId: "", secrets: {} }, context());
    expect(rds.allowed.get(id)).toEqual([NO_HOST_NQN]);
  });

  it("host access control: a migration admits both nodes, unpublish of the source leaves the target", async () => {
    const id = cluster.volume("pvc-acl", { rwxBlock: true });
    cluster.attachment(id, "n1", { attached: true });
    cluster.attachment(id, "n2");
    const arbiter = start({ hostAccessControl: true });
    await arbiter.publish(publishRequest(id, "n2", rwxBlock), volume(id), context());
    expect(rds.allowed.get(id)).toEqual([hostNqn("n1"), hostNqn("n2")]);

    // Source detaches: its attachment is deleted, the target's is not yet recorded attached.
    cluster.attachment(id, "n1", { attached: true, deleting: true });
    await arbiter.unpublish({ volumeId: id, nodeId: "n1", secrets: {} }, context());
    expect(rds.allowed.get(id)).toEqual([hostNqn("n2")]);
  });

  it("host access control: a node without the host NQN annotation cannot be published; a holder without one is left out", async () => {
    cluster.node("bare", { annotated: false });
    const id = cluster.volume("pvc-bare", { rwxBlock: true });
    cluster.attachment(id, "bare");
    const arbiter = start({ hostAccessControl: true });
    const err = await failure(arbiter.publish(publishRequest(id, "bare", rwxBlock), volume(id), context()));
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(err.message).toBe(
      "node bare has no host NQN in its annotation rds.csi.srvlab.io/host-nqn, which the node plugin sets at start; host access control cannot admit it",
    );

    cluster.attachment(id, "bare", { attached: true });
    cluster.attachment(id, "n1");
    await eventually(async () => {
      await arbiter.publish(publishRequest(id, "n1", rwxBlock), volume(id), context());
      expect(rds.allowed.get(id)).toEqual([hostNqn("n1")]);
    });
  });

  it("a node without this driver's CSINode entry is NOT_FOUND, naming the node", async () => {
    cluster.node("foreign", { driver: false });
    cluster.node("plain", { csiNode: false });
    const id = cluster.volume("pvc-nf");
    const arbiter = start();
    const foreign = await failure(arbiter.publish(publishRequest(id, "foreign"), volume(id), context()));
    expect(foreign).toBeInstanceOf(NotFoundError);
    expect(foreign.message).toBe(`node foreign is not a node of driver ${DRIVER}: its CSINode does not list the driver (is the node plugin running there?)`);
    const plain = await failure(arbiter.publish(publishRequest(id, "plain"), volume(id), context()));
    expect(plain).toBeInstanceOf(NotFoundError);
    expect(plain.message).toBe(`node plain is not a node of driver ${DRIVER}: it has no CSINode object`);
  });

  it("counts an attachment whose PersistentVolume is not in the cache, by its derived name or by a PV name equal to the volume id", async () => {
    const hashed = "pvc-no-pv-1";
    cluster.server.put("VolumeAttachment", {
      apiVersion: "storage.k8s.io/v1",
      kind: "VolumeAttachment",
      metadata: { name: volumeAttachmentName(hashed, DRIVER, "n1") },
      spec: { attacher: DRIVER, nodeName: "n1", source: { persistentVolumeName: "some-deleted-pv" } },
      status: { attached: true },
    });
    const named = "pvc-no-pv-2";
    cluster.server.put("VolumeAttachment", {
      apiVersion: "storage.k8s.io/v1",
      kind: "VolumeAttachment",
      metadata: { name: "hand-made" },
      spec: { attacher: DRIVER, nodeName: "n1", source: { persistentVolumeName: named } },
      status: { attached: true },
    });
    // Another driver's attachment of the same PV name is none of ours.
    cluster.server.put("VolumeAttachment", {
      apiVersion: "storage.k8s.io/v1",
      kind: "VolumeAttachment",
      metadata: { name: "foreign" },
      spec: { attacher: "other.csi.example.com", nodeName: "n3", source: { persistentVolumeName: named } },
      status: { attached: true },
    });
    const arbiter = start();
    for (const id of [hashed, named]) {
      const err = await failure(arbiter.publish(publishRequest(id, "n2"), volume(id), context()));
      expect(err.message).toMatch(/node n1 \(VolumeAttachment .* is attached\)$/);
      expect(await arbiter.publishedNodes(id)).toEqual(["n1"]);
    }
  });

  it("refuses a volume whose export is off", async () => {
    const id = cluster.volume("pvc-off");
    const arbiter = start();
    const err = await failure(arbiter.publish(publishRequest(id, "n1"), volume(id, false), context()));
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(err.message).toBe("volume pvc-off exists but its NVMe/TCP export is off, so no node can attach it");
  });

  it("is not ready and answers UNAVAILABLE until its informers listed, and a caller's deadline ends the wait", async () => {
    cluster.server.failNext({ method: "GET", path: /volumeattachments$/, watch: false, status: 503, count: 3 });
    const arbiter = start();
    const never = new AbortController().signal;
    expect((await arbiter.ready(never)).ok).toBe(false);
    await expect(arbiter.publishedNodes("pvc-x")).rejects.toBeInstanceOf(UnavailableError);
    await expect(arbiter.publish(publishRequest("pvc-x", "n1"), volume("pvc-x"), context(AbortSignal.timeout(10)))).rejects.toMatchObject({ name: "TimeoutError" });
    await eventually(async () => expect(await arbiter.ready(never)).toEqual({ ok: true }));
    expect(await arbiter.publishedNodes("pvc-x")).toEqual([]);
  });

  it("the informers survive closed watches, a failed watch, and 410 Gone after compaction, and converge", async () => {
    const id = cluster.volume("pvc-watch");
    const arbiter = start();
    await eventually(async () => expect((await arbiter.ready(new AbortController().signal)).ok).toBe(true));

    cluster.server.closeWatches();
    cluster.attachment(id, "n1", { attached: true });
    await eventually(async () => expect(await arbiter.publishedNodes(id)).toEqual(["n1"]));

    // An error status on the watch stops client-node's own informer for good; ours starts again.
    cluster.server.failNext({ path: /volumeattachments$/, watch: true, status: 500, count: 2 });
    cluster.server.closeWatches();
    cluster.attachment(id, "n1", { attached: false });
    await eventually(async () => expect(await arbiter.publishedNodes(id)).toEqual([]));

    // History compacted while the watch is down: the resume gets 410 Gone, the informer relists,
    // and a deletion that happened meanwhile is seen.
    cluster.attachment(id, "n2", { attached: true });
    await eventually(async () => expect(await arbiter.publishedNodes(id)).toEqual(["n2"]));
    const lists = (): number => cluster.server.requests().filter((r) => r.path.endsWith("/volumeattachments") && r.query["watch"] !== "true").length;
    const listsBefore = lists();
    cluster.server.delay(300); // the reconnect below arrives after the deletion and the compaction
    cluster.server.closeWatches();
    cluster.server.remove("VolumeAttachment", undefined, volumeAttachmentName(id, DRIVER, "n2"));
    cluster.server.compactHistory();
    cluster.server.delay(0);
    await eventually(async () => expect(await arbiter.publishedNodes(id)).toEqual([]));
    expect(lists()).toBeGreaterThan(listsBefore);
    await eventually(() => expect(cluster.server.openWatches()).toBe(2));
  });

  it("KubeEventRecorder posts an event on the subject's namespace and shortens a message the API server would refuse", async () => {
    const recorder = new KubeEventRecorder({ client: fakeKubeClient(cluster.server.url), component: "rds-csi-controller" });
    const subject = { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: "default", name: "claim-x", uid: "u-x" };
    await recorder.record({ subject, type: "Normal", reason: "Short", message: "hello" }, AbortSignal.timeout(5_000));
    await recorder.record({ subject, type: "Warning", reason: "Long", message: "x".repeat(2_000) }, AbortSignal.timeout(5_000));
    const events = cluster.server.list("Event");
    expect(events.map((event) => [event["reason"], String(event["message"]).length, event["source"]])).toEqual(
      expect.arrayContaining([
        ["Short", 5, { component: "rds-csi-controller" }],
        ["Long", 1024, { component: "rds-csi-controller" }],
      ]),
    );
    expect(events.every((event) => event.metadata.namespace === "default" && event.metadata.name?.startsWith("claim-x."))).toBe(true);
  });

  describe("the node's attach limit (CSINode allocatable.count)", () => {
    it("refuses a publish beyond it with RESOURCE_EXHAUSTED; a repeat for an attached volume and other nodes stay OK", async () => {
      cluster.node("n1", { attachLimit: 2 });
      const [a, b, c] = ["pvc-a", "pvc-b", "pvc-c"].map((id) => cluster.volume(id)) as [string, string, string];
      cluster.attachment(a, "n1", { attached: true });
      cluster.attachment(b, "n1", { attached: true });
      cluster.attachment(c, "n1");
      const arbiter = start();

      const refused = await failure(arbiter.publish(publishRequest(c, "n1"), volume(c), context()));
      expect(refused).toBeInstanceOf(ResourceExhaustedError);
      expect(refused.message).toBe(
        "node n1 already has 2 volumes of this driver attached or attaching, its limit (CSINode n1 allocatable.count, the node plugin's --max-volumes-per-node): pvc-a, pvc-b; detach one first",
      );
      expect(await metric('rds_csi_controller_attach_conflicts_total{reason="node_limit"}')).toBe(1);
      // The volume being published is not counted against itself, and a repeat takes no new slot.
      await arbiter.publish(publishRequest(a, "n1"), volume(a), context());
      // n2 reports no limit.
      const d = cluster.volume("pvc-d");
      cluster.attachment(d, "n2");
      await eventually(async () => {
        await arbiter.publish(publishRequest(d, "n2"), volume(d), context());
      });

      cluster.server.remove("VolumeAttachment", undefined, volumeAttachmentName(b, DRIVER, "n1"));
      await eventually(async () => {
        await arbiter.publish(publishRequest(c, "n1"), volume(c), context());
      });
    });

    it("counts attachments being deleted and older pending ones, not failed ones; the older of two pending gets the last slot", async () => {
      cluster.node("n1", { attachLimit: 2 });
      const ids = ["pvc-held", "pvc-old", "pvc-new", "pvc-failed"].map((id) => cluster.volume(id)) as [string, string, string, string];
      const [held, older, newer, failed] = ids;
      cluster.attachment(held, "n1", { attached: true, deleting: true });
      cluster.attachment(failed, "n1", { attachError: true, createdAt: "2026-01-01T00:00:00Z" });
      cluster.attachment(older, "n1", { createdAt: "2026-01-01T00:00:01Z" });
      cluster.attachment(newer, "n1", { createdAt: "2026-01-01T00:00:02Z" });
      const arbiter = start();

      const refused = await failure(arbiter.publish(publishRequest(newer, "n1"), volume(newer), context()));
      expect(refused).toBeInstanceOf(ResourceExhaustedError);
      expect(refused.message).toContain(": pvc-held, pvc-old; detach one first");
      // The older pending one does not see the newer one: it gets the slot; the failed one holds none.
      await arbiter.publish(publishRequest(older, "n1"), volume(older), context());
    });

    it("a publish in flight to the node holds a slot: of two concurrent publishes at the last slot, one is refused", async () => {
      cluster.node("n1", { attachLimit: 1, annotated: true });
      const [x, y] = ["pvc-x", "pvc-y"].map((id) => cluster.volume(id)) as [string, string];
      cluster.attachment(x, "n1", { createdAt: "2026-01-01T00:00:01Z" });
      cluster.attachment(y, "n1", { createdAt: "2026-01-01T00:00:01Z" });
      let open = (): void => undefined;
      rds.gate = new Promise<void>((resolve) => (open = resolve));
      const arbiter = start({ hostAccessControl: true });
      const [first, second] = [arbiter.publish(publishRequest(x, "n1"), volume(x), context()), arbiter.publish(publishRequest(y, "n1"), volume(y), context())];
      const outcomes = Promise.allSettled([first, second]);
      open();
      const settled = await outcomes;
      expect(settled.map((outcome) => outcome.status).sort()).toEqual(["fulfilled", "rejected"]);
      expect(settled.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason] : []))[0]).toBeInstanceOf(ResourceExhaustedError);
    });
  });
});
