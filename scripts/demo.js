// Local demo: runs the bundled RDS simulator as its own process (the `rds-sim` CLI) and the CSI
// controller as its own process against it (a fake API server stands in for Kubernetes), then drives the
// controller over its unix socket the way external-provisioner, -attacher and -resizer do. As root, two
// node plugins (each on its own fake NVMe/TCP fabric over loop devices) then attach the volume the way
// kubelet does: node A formats, mounts and writes it, then loses the NVMe/TCP controller for good (an
// outage past ctrl_loss_tmo) and recovers by itself; node B attaches the same disk and reads the file
// back. Last, the reconciler starts against the same RDS and API server and becomes ready.
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { csi } from "../packages/core/dist/index.js";
import { generateEd25519KeyPair } from "../packages/rds-simulator/dist/index.js";
import { loadHostIdentity } from "../packages/csi-node/dist/nvme/host-identity.js";
import { callAsKubeletWould, callUnary, FakeFabric, startFakeApiServer, startServiceProcess } from "../packages/testkit/dist/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = await mkdtemp(join(tmpdir(), "rds-csi-demo-"));
const cleanups = [];
try {
  const key = generateEd25519KeyPair();
  await writeFile(join(dir, "authorized_keys"), key.public);
  const sim = await startSimulatorProcess(["--state-dir", join(dir, "rds"), "--port", "0", "--authorized-key", join(dir, "authorized_keys"), "--pool-size", "1T", "--latency-mutate", "20ms"]);
  cleanups.push(sim.stop);
  console.log(`RDS simulator: ssh on 127.0.0.1:${sim.port}, host key ${sim.fingerprint}`);

  // The controller watches VolumeAttachments and CSINodes: a fake API server stands in for Kubernetes.
  const api = await startFakeApiServer();
  cleanups.push(() => api.stop());
  for (const node of ["demo-node", "demo-node-b"]) {
    api.put("CSINode", { metadata: { name: node }, spec: { drivers: [{ name: "rds.csi.srvlab.io", nodeID: node }] } });
  }
  await writeFile(join(dir, "kubeconfig"), api.kubeConfig().exportConfig());
  await writeFile(join(dir, "id_ed25519"), key.private, { mode: 0o600 });
  // The controller and the reconciler log in to the RDS and reach the (fake) API server alike.
  const rdsEnv = {
    RDS_ADDRESS: "127.0.0.1",
    RDS_SSH_PORT: String(sim.port),
    RDS_PRIVATE_KEY_FILE: join(dir, "id_ed25519"),
    RDS_HOST_KEY_FINGERPRINT: sim.fingerprint,
    RDS_BASE_PATH: "/raid10/csi",
    KUBECONFIG: join(dir, "kubeconfig"),
  };
  const controller = await startServiceProcess(join(root, "packages/csi-controller/dist/main.js"), `unix://${join(dir, "controller", "csi.sock")}`, ["--metrics-address", "127.0.0.1:0"], rdsEnv);
  cleanups.push(() => stopService("csi-controller", controller));
  const { identity, controller: rpc } = controller.clients;
  await until(async () => (await callUnary(identity, identity.probe, {})).ready === true);
  console.log(`csi-controller ready (${(await callUnary(identity, identity.getPluginInfo, {})).name}), connected to the simulated RDS over SSH`);

  const capability = csi.VolumeCapability.fromPartial({ mount: { fsType: "ext4" }, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });
  const request = csi.CreateVolumeRequest.fromPartial({ name: "pvc-5b0c1f2e-3d4c-4b5a-9687-a1b2c3d4e5f6", capacityRange: { requiredBytes: 10n * 1024n ** 3n }, volumeCapabilities: [capability] });
  const { volume } = await callUnary(rpc, rpc.createVolume, request);
  console.log(`CreateVolume ${volume.volumeId}: ${volume.capacityBytes} bytes, context ${JSON.stringify(volume.volumeContext)}`);
  await callUnary(rpc, rpc.createVolume, request);
  const listed = await callUnary(rpc, rpc.listVolumes, csi.ListVolumesRequest.fromPartial({}));
  console.log(`CreateVolume again (a retried call): same volume; ListVolumes shows ${listed.entries.length}`);
  const expanded = await callUnary(rpc, rpc.controllerExpandVolume, csi.ControllerExpandVolumeRequest.fromPartial({ volumeId: volume.volumeId, capacityRange: { requiredBytes: 20n * 1024n ** 3n }, volumeCapability: capability }));
  console.log(`ControllerExpandVolume: ${expanded.capacityBytes} bytes, node expansion required: ${expanded.nodeExpansionRequired}`);
  const publish = async (nodeId) => {
    const { publishContext } = await callUnary(rpc, rpc.controllerPublishVolume, csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId, volumeCapability: capability, volumeContext: volume.volumeContext }));
    console.log(`ControllerPublishVolume to ${nodeId}: publish_context ${JSON.stringify(publishContext)}`);
    return publishContext;
  };
  const unpublish = (nodeId) => callUnary(rpc, rpc.controllerUnpublishVolume, csi.ControllerUnpublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId }));

  const publishContext = await publish("demo-node");
  if (process.getuid?.() === 0 && hasLosetup()) {
    const nodeA = await startNodeOnFabric("demo-node", sim.controlUrl);
    const { staging, target } = kubeletPaths("demo-node", volume.volumeId, "pod-a");
    const nodeCall = { volumeId: volume.volumeId, publishContext, volumeContext: volume.volumeContext, volumeCapability: capability, stagingTargetPath: staging };
    await callUnary(nodeA.rpc, nodeA.rpc.nodeStageVolume, csi.NodeStageVolumeRequest.fromPartial(nodeCall));
    await callUnary(nodeA.rpc, nodeA.rpc.nodePublishVolume, csi.NodePublishVolumeRequest.fromPartial({ ...nodeCall, targetPath: target }));
    await writeFile(join(target, "hello.txt"), "written on demo-node\n");
    execFileSync("sync", ["-f", target]);
    const condition = async () =>
      (await callUnary(nodeA.rpc, nodeA.rpc.nodeGetVolumeStats, csi.NodeGetVolumeStatsRequest.fromPartial({ volumeId: volume.volumeId, volumePath: staging, stagingTargetPath: staging }))).volumeCondition?.message;
    console.log(`demo-node: NodeStage (NVMe/TCP connect, mkfs.ext4, mount) + NodePublish (bind mount into the pod); wrote hello.txt; condition: ${await condition()}`);

    // An RDS outage longer than ctrl_loss_tmo: the kernel deletes the controller and its device.
    const deviceOf = (path) => readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((line) => line.split(" ")).filter((f) => f[4] === path).at(-1)?.[2];
    const before = deviceOf(staging);
    await nodeA.fabric.loseControllerForGood(publishContext.nvme_nqn);
    console.log(`demo-node: the kernel gave up on the NVMe/TCP controller (ctrl_loss_tmo) — condition: ${await condition()}`);
    const moved = (path) => ![undefined, before].includes(deviceOf(path));
    await until(async () => moved(staging) && moved(target), "the node's stale-mount watcher did not recover the volume within 30 s");
    console.log(`demo-node: recovered by itself, no RPC: reconnected, staging moved from device ${before} to ${deviceOf(staging)}, the pod's target re-bound; hello.txt reads ${JSON.stringify(await readFile(join(target, "hello.txt"), "utf8"))}`);
    // The watcher may still hold the volume's lock while it records the recovery: kubelet retries ABORTED, so does the demo.
    await callAsKubeletWould(() => callUnary(nodeA.rpc, nodeA.rpc.nodeUnpublishVolume, csi.NodeUnpublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, targetPath: target })));
    await callAsKubeletWould(() => callUnary(nodeA.rpc, nodeA.rpc.nodeUnstageVolume, csi.NodeUnstageVolumeRequest.fromPartial({ volumeId: volume.volumeId, stagingTargetPath: staging })));
    await unpublish("demo-node");
    console.log("demo-node: NodeUnpublish + NodeUnstage (unmount, NVMe/TCP disconnect); ControllerUnpublishVolume");

    const contextB = await publish("demo-node-b");
    const nodeB = await startNodeOnFabric("demo-node-b", sim.controlUrl);
    const { staging: stagingB, target: targetB } = kubeletPaths("demo-node-b", volume.volumeId, "pod-b");
    const callB = { ...nodeCall, publishContext: contextB, stagingTargetPath: stagingB };
    await callUnary(nodeB.rpc, nodeB.rpc.nodeStageVolume, csi.NodeStageVolumeRequest.fromPartial(callB));
    await callUnary(nodeB.rpc, nodeB.rpc.nodePublishVolume, csi.NodePublishVolumeRequest.fromPartial({ ...callB, targetPath: targetB, readonly: true }));
    console.log(`demo-node-b: staged the same disk (no format: blkid found ext4) and read hello.txt: ${JSON.stringify(await readFile(join(targetB, "hello.txt"), "utf8"))}`);
    await callUnary(nodeB.rpc, nodeB.rpc.nodeUnpublishVolume, csi.NodeUnpublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, targetPath: targetB }));
    await callUnary(nodeB.rpc, nodeB.rpc.nodeUnstageVolume, csi.NodeUnstageVolumeRequest.fromPartial({ volumeId: volume.volumeId, stagingTargetPath: stagingB }));
    await unpublish("demo-node-b");
  } else {
    await unpublish("demo-node");
    console.log("(the node part — attach, format, mount, write on one node, read on another — needs root for loop devices and mounts: skipped)");
  }
  const capacity = await callUnary(rpc, rpc.getCapacity, csi.GetCapacityRequest.fromPartial({}));
  console.log(`GetCapacity: ${capacity.availableCapacity} bytes available`);
  const tooBig = await callUnary(rpc, rpc.createVolume, csi.CreateVolumeRequest.fromPartial({ name: "pvc-00000000-0000-4000-8000-00000000b16b", capacityRange: { requiredBytes: 2n * 1024n ** 4n }, volumeCapabilities: [capability] })).catch((err) => err);
  console.log(`CreateVolume of 2 TiB on a 1 TiB pool: ${tooBig.code === 8 ? "RESOURCE_EXHAUSTED" : tooBig.code}: ${tooBig.details}`);
  await callUnary(rpc, rpc.deleteVolume, csi.DeleteVolumeRequest.fromPartial({ volumeId: volume.volumeId }));
  console.log(`DeleteVolume: disk and backing file removed; ListVolumes shows ${(await callUnary(rpc, rpc.listVolumes, csi.ListVolumesRequest.fromPartial({}))).entries.length}\n`);

  const reconciler = await startServiceProcess(join(root, "packages/attachment-reconciler/dist/main.js"), `unix://${join(dir, "attachment-reconciler", "csi.sock")}`, ["--metrics-address", "127.0.0.1:0"], rdsEnv);
  cleanups.push(() => stopService("attachment-reconciler", reconciler));
  const info = await callUnary(reconciler.clients.identity, reconciler.clients.identity.getPluginInfo, {});
  await until(async () => (await callUnary(reconciler.clients.identity, reconciler.clients.identity.probe, {})).ready === true, "the reconciler did not become ready within 30 s");
  console.log(`attachment-reconciler: GetPluginInfo ${info.name} ${info.vendorVersion}, ready (its informers listed Nodes, Leases, VolumeAttachments and PVs)`);
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
}
console.log("\nall services stopped cleanly on SIGTERM");

/**
 * A node plugin as its own process (through its launcher, as an image runs it) on a fake NVMe/TCP fabric
 * of its own: the fabric's nvme-cli stand-in attaches the simulator's backing files to loop devices.
 */
async function startNodeOnFabric(nodeId, simulatorUrl) {
  const home = join(dir, nodeId);
  await mkdir(join(home, "etc"), { recursive: true });
  const { hostNqn } = await loadHostIdentity(join(home, "etc"));
  // The kubelet's root directory exists before any plugin runs; the node acts only on paths inside it.
  await mkdir(join(dir, `kubelet-${nodeId}`), { recursive: true });
  const fabric = await FakeFabric.create({ simulatorUrl, hostNqn, baseDir: join(home, "fabric") });
  cleanups.push(async () => {
    unmountUnder(dir);
    await fabric.cleanup();
  });
  const service = await startServiceProcess(join(root, "packages/csi-node/bin/rds-csi-node"), `unix://${join(home, "csi.sock")}`, ["--metrics-address", "127.0.0.1:0"], {
    NODE_ID: nodeId,
    ETC_DIR: join(home, "etc"),
    KUBELET_DIR: join(dir, `kubelet-${nodeId}`),
    SYSFS_ROOT: fabric.sysfsRoot,
    DEV_ROOT: fabric.devRoot,
    NVME_CLI: await fabric.writeShim(),
    STALE_MOUNT_CHECK_INTERVAL: "1s", // 15 s by default; the demo does not want to wait
  });
  cleanups.push(() => stopService(nodeId, service));
  return { rpc: service.clients.node, fabric };
}

/** Where kubelet would stage and publish the volume on `nodeId` (the node plugin scans the staging side). */
function kubeletPaths(nodeId, volumeId, pod) {
  const kubelet = join(dir, `kubelet-${nodeId}`);
  return {
    staging: join(kubelet, "plugins/kubernetes.io/csi/rds.csi.srvlab.io", volumeId, "globalmount"),
    target: join(kubelet, "pods", pod, "volumes/kubernetes.io~csi", volumeId, "mount"),
  };
}

/** After a failure half-way: nothing of the demo stays mounted. */
function unmountUnder(path) {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((line) => line.split(" ")[4]).filter((point) => point?.startsWith(`${path}/`));
  for (const point of mounts.reverse()) execFileSync("umount", ["--lazy", point]);
}

function hasLosetup() {
  try {
    execFileSync("losetup", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

async function stopService(name, service) {
  const code = await service.stop("SIGTERM");
  if (code !== 0) console.error(`${name} exited with ${code} on SIGTERM:\n${service.output().stderr}`);
}

async function until(condition, failure = "the controller did not become ready within 30 s") {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts `rds-sim` and reads its port and host key fingerprint from the lines it prints on start. */
async function startSimulatorProcess(args) {
  const child = spawn(process.execPath, [join(root, "packages/rds-simulator/dist/cli.js"), ...args], { stdio: ["ignore", "pipe", "ignore"] });
  const facts = {};
  for await (const line of createInterface({ input: child.stdout })) {
    facts.fingerprint ??= /host key fingerprint (\S+)/.exec(line)?.[1];
    facts.port ??= Number(/ssh listening on [\d.]+:(\d+)/.exec(line)?.[1]) || undefined;
    facts.controlUrl ??= /control API on (\S+)/.exec(line)?.[1];
    if (facts.fingerprint && facts.port && facts.controlUrl) break;
  }
  if (!facts.fingerprint || !facts.port || !facts.controlUrl) throw new Error("rds-sim did not report its port, host key and control API");
  return {
    ...facts,
    stop: async () => {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
    },
  };
}
