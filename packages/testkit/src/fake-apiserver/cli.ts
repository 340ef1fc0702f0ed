#!/usr/bin/env node
import { writeFile } from "node:fs/promises";
import { startFakeApiServer } from "./fake-apiserver.js";

/**
 * `fake-apiserver --kubeconfig FILE`: the fake kube-apiserver as a process of its own (the demo runs it
 * beside the services). Writes a kubeconfig for it to FILE, prints `fake-apiserver: listening on URL`,
 * and serves until SIGTERM or SIGINT.
 */
async function main(argv: readonly string[]): Promise<void> {
  const at = argv.indexOf("--kubeconfig");
  const kubeconfig = at >= 0 ? argv[at + 1] : undefined;
  if (kubeconfig === undefined || argv.length !== 2) {
    process.stderr.write("usage: fake-apiserver --kubeconfig FILE\n");
    process.exitCode = 2;
    return;
  }
  const server = await startFakeApiServer();
  await writeFile(kubeconfig, server.kubeConfig().exportConfig(), { mode: 0o600 });
  process.stdout.write(`fake-apiserver: listening on ${server.url}\n`);
  const stop = (): void => {
    void server.stop().then(() => process.stdout.write("fake-apiserver: stopped\n"));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

await main(process.argv.slice(2));
