import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateEd25519KeyPair } from "../host-key.js";
import { startSimulator, type RdsSimulator } from "../simulator.js";
import type { SimulatorOptions } from "../simulator-options.js";
import { connectSsh, type SshSession } from "./ssh-exec.js";

/** A client key pair made once per test file; ed25519 keeps key generation instant. */
export const clientKey = generateEd25519KeyPair();

export interface TestSimulator {
  readonly sim: RdsSimulator;
  readonly stateDir: string;
  /** connects as `admin` (with console options if given, e.g. `+ct200w`) with the client key */
  connect(loginSuffix?: string): Promise<SshSession>;
  /** stops the simulator and deletes its state directory */
  cleanup(): Promise<void>;
}

/** A simulator in a fresh temp directory, authorizing `clientKey`; options override the defaults. */
export async function startTestSimulator(options: Partial<SimulatorOptions> = {}): Promise<TestSimulator> {
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), "rds-sim-")));
  const sim = await startSimulator({ authorizedKeys: clientKey.public, ...options, stateDir });
  const sessions: SshSession[] = [];
  return {
    sim,
    stateDir,
    connect: async (loginSuffix = "") => {
      const session = await connectSsh({ port: sim.port, username: `admin${loginSuffix}`, privateKey: clientKey.private });
      sessions.push(session);
      return session;
    },
    cleanup: async () => {
      for (const session of sessions) session.close();
      await sim.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
