import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateEd25519KeyPair, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import ssh2 from "ssh2";

const key = generateEd25519KeyPair();

/** An RDS simulator in a temp directory and a way to run RouterOS commands on it over SSH. */
export interface TestRds {
  readonly sim: RdsSimulator;
  /** runs one RouterOS command; rejects when it prints anything (RouterOS prints only errors for these) */
  run(command: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function startTestRds(): Promise<TestRds> {
  const stateDir = await mkdtemp(join(tmpdir(), "fake-nvme-rds-"));
  const sim = await startSimulator({ stateDir, authorizedKeys: key.public, poolSize: "10G" });
  const client = new ssh2.Client();
  client.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    client.once("ready", () => resolve());
    client.once("error", reject);
    client.connect({ host: "127.0.0.1", port: sim.port, username: "admin", privateKey: key.private, readyTimeout: 5000, hostVerifier: () => true });
  });
  const run = (command: string): Promise<void> =>
    new Promise((resolve, reject) => {
      client.exec(command, (err, channel) => {
        if (err !== undefined && err !== null) return reject(err);
        let out = "";
        channel.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
        channel.stderr.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
        channel.on("close", () => (out.trim() === "" ? resolve() : reject(new Error(`${command}: ${out.trim()}`))));
      });
    });
  return {
    sim,
    run,
    cleanup: async () => {
      client.end();
      await sim.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
