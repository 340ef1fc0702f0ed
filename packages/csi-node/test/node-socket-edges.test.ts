import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger, csi, csiService, MetricsRegistry, parseEndpoint, startCsiServer, type CsiServer } from "@rds-csi/core";
import { callUnary, connectCsi, type CsiClients } from "@rds-csi/testkit";
import { describeOnEachHostKind } from "./support/each-host-kind.js";
import { useNodeRig, type TestHost } from "./support/node-test-rig.js";

// The node service behind the gRPC edge on a unix socket, as kubelet calls it: the edge cases arrive
// as the status codes the CSI spec names (one error map, at the edge).
const VOLUME = "pvc-socket-edges";

/** gRPC status codes (grpc's doc/statuscodes.md). */
const code = { OK: 0, INVALID_ARGUMENT: 3, NOT_FOUND: 5, ALREADY_EXISTS: 6, FAILED_PRECONDITION: 9 } as const;
const outcome = (call: Promise<unknown>): Promise<number> => call.then(() => code.OK, (err: { code?: number }) => err.code ?? -1);
const quiet = createLogger({ level: "error", component: "test", stream: new PassThrough().resume() });

describeOnEachHostKind("the node service over its socket: edge cases as status codes", (devices) => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-socket-edges-", diskSize: "64M", devices });
  let server: CsiServer | undefined;
  let clients: CsiClients | undefined;
  afterEach(async () => {
    clients?.close();
    await server?.shutdown(1_000);
    server = clients = undefined;
  });

  const serve = async (host: TestHost): Promise<csi.NodeClient> => {
    const endpoint = `unix://${join(rig.dir, "csi.sock")}`;
    server = await startCsiServer({ endpoint: parseEndpoint(endpoint), services: [csiService(csi.NodeService, host.node)], logger: quiet, metrics: new MetricsRegistry() });
    clients = connectCsi(endpoint);
    return clients.node;
  };

  it("stage, publish, stats, expand, unpublish, unstage — each repeated — and what each refuses", async () => {
    const node = await serve(await rig.newHost("node-a"));
    const staging = await rig.stagingDir("a");
    const target = join(rig.dir, "pods", "a", "volumes", "kubernetes.io~csi", VOLUME, "mount");
    const stage = (over: Partial<csi.NodeStageVolumeRequest> = {}) =>
      outcome(callUnary(node, node.nodeStageVolume, csi.NodeStageVolumeRequest.fromPartial({ volumeId: VOLUME, publishContext: rig.publishContext(), stagingTargetPath: staging, volumeCapability: rig.fsCapability(), volumeContext: rig.volumeContext, ...over })));
    const publish = (over: Partial<csi.NodePublishVolumeRequest> = {}) =>
      outcome(callUnary(node, node.nodePublishVolume, csi.NodePublishVolumeRequest.fromPartial({ volumeId: VOLUME, stagingTargetPath: staging, targetPath: target, volumeCapability: rig.fsCapability(), volumeContext: rig.volumeContext, ...over })));
    const stats = (volumeId = VOLUME) => outcome(callUnary(node, node.nodeGetVolumeStats, csi.NodeGetVolumeStatsRequest.fromPartial({ volumeId, volumePath: target, stagingTargetPath: staging })));
    const expand = (volumeId = VOLUME) =>
      outcome(callUnary(node, node.nodeExpandVolume, csi.NodeExpandVolumeRequest.fromPartial({ volumeId, volumePath: target, stagingTargetPath: staging, capacityRange: { requiredBytes: 64n * 1024n * 1024n } })));
    const unpublish = (volumeId = VOLUME) => outcome(callUnary(node, node.nodeUnpublishVolume, csi.NodeUnpublishVolumeRequest.fromPartial({ volumeId, targetPath: target })));
    const unstage = (volumeId = VOLUME) => outcome(callUnary(node, node.nodeUnstageVolume, csi.NodeUnstageVolumeRequest.fromPartial({ volumeId, stagingTargetPath: staging })));

    expect(await publish()).toBe(code.FAILED_PRECONDITION); // before stage
    expect(await stats()).toBe(code.NOT_FOUND);
    expect(await stage({ volumeId: "" })).toBe(code.INVALID_ARGUMENT);
    expect([await stage(), await stage()]).toEqual([code.OK, code.OK]);
    expect(await stage({ volumeCapability: rig.blockCapability() })).toBe(code.ALREADY_EXISTS);
    expect(await publish({ volumeCapability: rig.blockCapability() })).toBe(code.FAILED_PRECONDITION);
    expect([await publish(), await publish()]).toEqual([code.OK, code.OK]);
    expect(await publish({ readonly: true })).toBe(code.ALREADY_EXISTS);
    expect([await stats(), await stats("pvc-unknown")]).toEqual([code.OK, code.NOT_FOUND]);
    expect([await expand(), await expand("pvc-unknown")]).toEqual([code.OK, code.NOT_FOUND]);
    expect([await unpublish(), await unpublish(), await unpublish("")]).toEqual([code.OK, code.OK, code.INVALID_ARGUMENT]);
    expect([await unstage(), await unstage()]).toEqual([code.OK, code.OK]);
    expect(await rig.mountsUnder()).toEqual([]);
  }, 60_000);
});
