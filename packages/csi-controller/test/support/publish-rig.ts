import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createLogger, MetricsRegistry } from "@rds-csi/core";
import { HOST_NQN_ANNOTATION } from "@rds-csi/core/k8s";
import type { CopyStrategy } from "@rds-csi/core/routeros";
import { generateEd25519KeyPair, operatorLogin, startSimulator, type RdsSimulator, type SimulatorOptions } from "@rds-csi/rds-simulator";
import { connectCsi, fakeKubeClient, startFakeApiServer, type CsiClients, type FakeApiServer } from "@rds-csi/testkit";
import type { ManagedPublishArbiter } from "../../src/publish-arbiter.js";
import { volumeAttachmentName } from "../../src/publish/attachment-record.js";
import { createPublishArbiter } from "../../src/publish/index.js";
import { startInProcessController, type InProcessController } from "./in-process-controller.js";

export const DRIVER = "rds.csi.srvlab.io";
/** The host NQN each test node publishes on its Node. */
export const hostNqn = (node: string): string => `nqn.2014-08.org.nvmexpress:uuid:${node}`;

const key = generateEd25519KeyPair();
const silent = createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

export interface PublishRigOptions {
  readonly tempPrefix: string;
  /** `--host-access-control-trust=verified`, given to the controller and its arbiter alike. */
  readonly hostAccessControl: boolean;
  readonly copyTrust: CopyStrategy["trust"];
  /** Nodes registered with their host NQN annotation and a CSINode of this driver. */
  readonly nodes: readonly string[];
  readonly allowHost?: SimulatorOptions["allowHost"];
}

export interface PublishRig {
  readonly sim: RdsSimulator;
  readonly api: FakeApiServer;
  readonly arbiter: ManagedPublishArbiter;
  /** The arbiter's registry, where publish refusals are counted. */
  readonly metrics: MetricsRegistry;
  readonly controller: InProcessController;
  readonly clients: CsiClients;
  /** The export's allow-list as the RDS holds it, sorted. */
  allowedHosts(volumeId: string): readonly string[];
  /** The VolumeAttachment for (volume, node) as the attach/detach controller and external-attacher write it. */
  putAttachment(volumeId: string, node: string, pv: string, attached: boolean): void;
  stop(): Promise<void>;
}

/**
 * The controller as main.ts assembles it with the real publish arbiter: RDS simulator over SSH, the
 * arbiter's informers on a fake API server, CSI over a unix socket.
 */
export async function startPublishRig(options: PublishRigOptions): Promise<PublishRig> {
  const dir = await mkdtemp(join(tmpdir(), options.tempPrefix));
  const sim = await startSimulator({
    stateDir: join(dir, "rds"),
    authorizedKeys: key.public,
    poolSize: "100G",
    ...(options.allowHost && { allowHost: options.allowHost }),
  });
  const api = await startFakeApiServer({ bookmarkIntervalMs: 200 });
  const metrics = new MetricsRegistry();
  let arbiter!: ManagedPublishArbiter;
  const controller = await startInProcessController({
    rds: operatorLogin(sim, key.private),
    socketDir: dir,
    copyTrust: options.copyTrust,
    hostAccessControl: options.hostAccessControl,
    arbiter: (rds) =>
      (arbiter = createPublishArbiter({
        rds,
        driverName: DRIVER,
        logger: silent,
        metrics,
        client: fakeKubeClient(api.url),
        hostAccessControl: options.hostAccessControl,
        nvmeAddress: () => "127.0.0.1",
        informerTuning: { backoffInitialMs: 20, backoffMaxMs: 100, jitter: 0 },
      })),
  });
  const clients = connectCsi(controller.endpoint);
  for (const node of options.nodes) {
    api.put("Node", { apiVersion: "v1", kind: "Node", metadata: { name: node, annotations: { [HOST_NQN_ANNOTATION]: hostNqn(node) } } });
    api.put("CSINode", { apiVersion: "storage.k8s.io/v1", kind: "CSINode", metadata: { name: node }, spec: { drivers: [{ name: DRIVER, nodeID: node }] } });
  }
  return {
    sim,
    api,
    arbiter,
    metrics,
    controller,
    clients,
    allowedHosts(volumeId) {
      const disk = sim.disks().find((candidate) => candidate.slot === volumeId);
      if (!disk) throw new Error(`no disk ${volumeId} on the RDS`);
      return [...disk.allowedHosts].sort();
    },
    putAttachment(volumeId, node, pv, attached) {
      api.put("VolumeAttachment", {
        apiVersion: "storage.k8s.io/v1",
        kind: "VolumeAttachment",
        metadata: { name: volumeAttachmentName(volumeId, DRIVER, node) },
        spec: { attacher: DRIVER, nodeName: node, source: { persistentVolumeName: pv } },
        status: { attached },
      });
    },
    async stop() {
      clients.close();
      await controller.stop();
      await arbiter.close();
      await api.stop();
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
