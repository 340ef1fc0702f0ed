// Local demo: runs the bundled RDS simulator as its own process (the `rds-sim` CLI) and the CSI
// controller as its own process against it (a fake API server stands in for Kubernetes), then drives the
// controller over its unix socket the way external-provisioner and external-resizer do; then starts the
// node plugin and the reconciler and asks them who they are. Later issues grow it into the full local demo
// (volumes attached over the fake NVMe fabric, written and read back, a node failure recovered).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { csi } from "../packages/core/dist/index.js";
import { generateEd25519KeyPair } from "../packages/rds-simulator/dist/index.js";
import { callUnary, startFakeApiServer, startServiceProcess } from "../packages/testkit/dist/index.js";

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
  api.put("CSINode", { metadata: { name: "demo-node" }, spec: { drivers: [{ name: "rds.csi.srvlab.io", nodeID: "demo-node" }] } });
  await writeFile(join(dir, "kubeconfig"), api.kubeConfig().exportConfig());
  await writeFile(join(dir, "id_ed25519"), key.private, { mode: 0o600 });
  const controller = await startServiceProcess(join(root, "packages/csi-controller/dist/main.js"), `unix://${join(dir, "controller", "csi.sock")}`, ["--metrics-address", "127.0.0.1:0"], {
    RDS_ADDRESS: "127.0.0.1",
    RDS_SSH_PORT: String(sim.port),
    RDS_PRIVATE_KEY_FILE: join(dir, "id_ed25519"),
    RDS_HOST_KEY_FINGERPRINT: sim.fingerprint,
    RDS_BASE_PATH: "/raid10/csi",
    KUBECONFIG: join(dir, "kubeconfig"),
  });
  cleanups.push(async () => {
    const code = await controller.stop("SIGTERM");
    if (code !== 0) console.error(`csi-controller exited with ${code} on SIGTERM:\n${controller.output().stderr}`);
  });
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
  const published = await callUnary(rpc, rpc.controllerPublishVolume, csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: "demo-node", volumeCapability: capability, volumeContext: volume.volumeContext }));
  console.log(`ControllerPublishVolume to demo-node: publish_context ${JSON.stringify(published.publishContext)}`);
  await callUnary(rpc, rpc.controllerUnpublishVolume, csi.ControllerUnpublishVolumeRequest.fromPartial({ volumeId: volume.volumeId, nodeId: "demo-node" }));
  const capacity = await callUnary(rpc, rpc.getCapacity, csi.GetCapacityRequest.fromPartial({}));
  console.log(`GetCapacity: ${capacity.availableCapacity} bytes available`);
  const tooBig = await callUnary(rpc, rpc.createVolume, csi.CreateVolumeRequest.fromPartial({ name: "pvc-00000000-0000-4000-8000-00000000b16b", capacityRange: { requiredBytes: 2n * 1024n ** 4n }, volumeCapabilities: [capability] })).catch((err) => err);
  console.log(`CreateVolume of 2 TiB on a 1 TiB pool: ${tooBig.code === 8 ? "RESOURCE_EXHAUSTED" : tooBig.code}: ${tooBig.details}`);
  await callUnary(rpc, rpc.deleteVolume, csi.DeleteVolumeRequest.fromPartial({ volumeId: volume.volumeId }));
  console.log(`DeleteVolume: disk and backing file removed; ListVolumes shows ${(await callUnary(rpc, rpc.listVolumes, csi.ListVolumesRequest.fromPartial({}))).entries.length}\n`);

  for (const name of ["csi-node", "attachment-reconciler"]) {
    const main = join(root, "packages", name, "dist", "main.js");
    const endpoint = `unix://${join(dir, name, "csi.sock")}`;
    // The node plugin needs its node name and keeps its NVMe host identity in <etc-dir>/nvme (a temp dir here).
    const env = name === "csi-node" ? { NODE_ID: "demo-node", ETC_DIR: join(dir, "etc"), KUBELET_DIR: join(dir, "kubelet") } : {};
    const service = await startServiceProcess(main, endpoint, ["--metrics-address", "127.0.0.1:0"], env);
    cleanups.push(async () => {
      const code = await service.stop("SIGTERM");
      if (code !== 0) console.error(`${name} exited with ${code} on SIGTERM:\n${service.output().stderr}`);
    });
    const { identity } = service.clients;
    const info = await callUnary(identity, identity.getPluginInfo, {});
    const probe = await callUnary(identity, identity.probe, {});
    console.log(`${name.padEnd(22)} ${endpoint}\n  GetPluginInfo: ${info.name} ${info.vendorVersion}   Probe: ready=${probe.ready}`);
  }
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
}
console.log("\nall services stopped cleanly on SIGTERM");

async function until(condition) {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("the controller did not become ready within 30 s");
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
    if (facts.fingerprint && facts.port) break;
  }
  if (!facts.fingerprint || !facts.port) throw new Error("rds-sim did not report its port and host key");
  return {
    ...facts,
    stop: async () => {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
    },
  };
}
