// Local demo: starts the three rds-csi services as real processes, each on its own unix socket, and
// talks to them the way the Kubernetes sidecars do. Later issues grow this into the full local demo
// (RDS simulator, volumes created, attached over the fake NVMe fabric, written and read back).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { callUnary, startServiceProcess } from "../packages/testkit/dist/index.js";

const services = ["csi-controller", "csi-node", "attachment-reconciler"];
const dir = await mkdtemp(join(tmpdir(), "rds-csi-demo-"));
const running = [];
try {
  for (const name of services) {
    const main = fileURLToPath(new URL(`../packages/${name}/dist/main.js`, import.meta.url));
    const endpoint = `unix://${join(dir, name, "csi.sock")}`;
    const service = await startServiceProcess(main, endpoint, ["--metrics-address", "127.0.0.1:0"]);
    running.push(service);
    const { identity } = service.clients;
    const info = await callUnary(identity, identity.getPluginInfo, {});
    const probe = await callUnary(identity, identity.probe, {});
    console.log(`${name.padEnd(22)} ${endpoint}\n  GetPluginInfo: ${info.name} ${info.vendorVersion}   Probe: ready=${probe.ready}`);
  }
} finally {
  for (const service of running) {
    const code = await service.stop("SIGTERM");
    if (code !== 0) console.error(`a service exited with ${code} on SIGTERM:\n${service.output().stderr}`);
  }
  await rm(dir, { recursive: true, force: true });
}
console.log("all services answered and stopped cleanly on SIGTERM");
