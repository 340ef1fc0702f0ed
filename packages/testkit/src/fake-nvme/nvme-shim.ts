import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The compiled fake `nvme` program. */
export const FAKE_NVME_CLI = fileURLToPath(new URL("./fake-nvme-cli.js", import.meta.url));

/** The compiled namespace-scan process `nvme connect` leaves behind (scan-worker.ts). */
export const SCAN_WORKER = fileURLToPath(new URL("./scan-worker.js", import.meta.url));

/**
 * Writes `<dir>/nvme`, an executable sh script that sets `env` and execs `node <FAKE_NVME_CLI> "$@"`,
 * so the node plugin runs it exactly like `/usr/sbin/nvme` (argv, exit status, stdout/stderr).
 * Returns its path.
 */
export async function writeNvmeShim(dir: string, env: Readonly<Record<string, string>>): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, "nvme");
  const exports = Object.entries(env).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid environment variable name ${JSON.stringify(name)}`);
    return `export ${name}=${shellQuote(value)}`;
  });
  const script = ["#!/bin/sh", "# fake nvme-cli (rds-csi testkit): the fake NVMe/TCP fabric over loop devices", ...exports, `exec ${shellQuote(process.execPath)} ${shellQuote(FAKE_NVME_CLI)} "$@"`, ""];
  await writeFile(path, script.join("\n"));
  await chmod(path, 0o755);
  return path;
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
