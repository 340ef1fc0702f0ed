// Local demo: runs the bundled RDS simulator as its own process (the `rds-sim` CLI), drives it over SSH
// with the driver's RouterOS client as the controller will, then starts the three rds-csi services on
// unix sockets and talks to them the way the Kubernetes sidecars do. Later issues grow it into the full
// local demo (volumes provisioned through the CSI controller and attached over the fake NVMe fabric).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { createLogger, RouterOsRdsClient, Ssh2Transport, VolumeLayout } from "../packages/core/dist/index.js";
import { generateEd25519KeyPair } from "../packages/rds-simulator/dist/index.js";
import { callUnary, startServiceProcess } from "../packages/testkit/dist/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = await mkdtemp(join(tmpdir(), "rds-csi-demo-"));
const cleanups = [];
try {
  const key = generateEd25519KeyPair();
  await writeFile(join(dir, "authorized_keys"), key.public);
  const sim = await startSimulatorProcess(["--state-dir", join(dir, "rds"), "--port", "0", "--authorized-key", join(dir, "authorized_keys"), "--pool-size", "1T", "--latency-mutate", "20ms"]);
  cleanups.push(sim.stop);
  console.log(`RDS simulator: ssh on 127.0.0.1:${sim.port}, host key ${sim.fingerprint}`);

  const logger = createLogger({ level: "warn", component: "demo", stream: new PassThrough().resume() });
  const transport = new Ssh2Transport({
    host: "127.0.0.1",
    port: sim.port,
    username: "admin",
    auth: { privateKey: key.private },
    hostKey: { fingerprint: sim.fingerprint },
    logger,
  });
  transport.start();
  cleanups.push(() => transport.close());
  const rds = new RouterOsRdsClient({
    transport,
    layout: new VolumeLayout({ basePath: "/raid10/csi", nqnPrefix: "nqn.2000-02.com.mikrotik" }),
    copyStrategy: { name: "disk-copy-from", trust: "unverified" },
    logger,
  });
  const signal = () => AbortSignal.timeout(30_000);
  const id = "pvc-5b0c1f2e-3d4c-4b5a-9687-a1b2c3d4e5f6";
  const volume = await rds.createVolume({ id, sizeBytes: 10n * 1024n ** 3n, port: 4420 }, signal());
  console.log(`created ${volume.id}: ${volume.sizeBytes} bytes at ${volume.filePath}, exported as ${volume.nqn} on port ${volume.port}`);
  const again = await rds.createVolume({ id, sizeBytes: 10n * 1024n ** 3n, port: 4420 }, signal());
  console.log(`created it again (a retried CreateVolume): same volume, ${(await rds.listVolumes(signal())).length} volume(s) on the RDS`);
  const grown = await rds.resizeVolume(again.id, 20n * 1024n ** 3n, signal());
  console.log(`grown to ${grown.sizeBytes} bytes`);
  const snapshot = await rds.createSnapshot({ id: "snap-00000000-0000-4000-8000-000000000001", sourceVolumeId: id }, signal());
  console.log(`snapshot ${snapshot.id} of ${snapshot.sourceVolumeId} taken ${snapshot.createdAt?.toISOString()} (copy strategy ${rds.copyStrategy.name}, trust ${rds.copyStrategy.trust})`);
  const capacity = await rds.capacity(signal());
  console.log(`pool: ${capacity.freeBytes} of ${capacity.totalBytes} bytes free`);
  await rds.deleteSnapshot(snapshot.id, signal());
  await rds.deleteVolume(id, signal());
  console.log(`deleted; ${(await rds.listVolumes(signal())).length} volume(s) and ${(await rds.listBackingFiles(signal())).length} backing file(s) left\n`);

  for (const name of ["csi-controller", "csi-node", "attachment-reconciler"]) {
    const main = join(root, "packages", name, "dist", "main.js");
    const endpoint = `unix://${join(dir, name, "csi.sock")}`;
    const service = await startServiceProcess(main, endpoint, ["--metrics-address", "127.0.0.1:0"]);
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
console.log("\nall services answered and stopped cleanly on SIGTERM");

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
