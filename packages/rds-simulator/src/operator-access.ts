import type { RdsSimulator } from "./simulator.js";
import { DEFAULT_USER } from "./simulator-options.js";
import { connectSsh } from "./test-support/ssh-exec.js";

/** How a client reaches the simulator as its operator; the fields are named as the driver's SSH transport takes them. */
export interface OperatorLogin {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly auth: { readonly privateKey: string };
  /** The simulator's host key, pinned by fingerprint as the driver pins the real RDS's. */
  readonly hostKey: { readonly fingerprint: string };
}

/**
 * The login for `sim` with a key it authorizes, so that every test connects the driver's transport
 * the same way: `new Ssh2Transport({ ...operatorLogin(sim, key.private), logger })`.
 */
export function operatorLogin(sim: RdsSimulator, privateKey: string): OperatorLogin {
  return { host: "127.0.0.1", port: sim.port, username: DEFAULT_USER, auth: { privateKey }, hostKey: { fingerprint: sim.hostKeyFingerprint } };
}

const COMMAND_DEADLINE_MS = 20_000;

/**
 * Runs a RouterOS command on the simulator as an operator at its console would and returns its output:
 * for setting up state the driver never makes (a foreign disk, a removed export). RouterOS answers a
 * change that worked with no output at all.
 */
export async function runAsOperator(sim: RdsSimulator, privateKey: string, command: string): Promise<string> {
  const session = await connectSsh({ port: sim.port, username: DEFAULT_USER, privateKey });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${command}: no answer within ${COMMAND_DEADLINE_MS} ms`)), COMMAND_DEADLINE_MS);
  });
  try {
    return (await Promise.race([session.exec(command), deadline])).stdout;
  } finally {
    clearTimeout(timer);
    session.close();
  }
}

/** runAsOperator for a change: any output is RouterOS refusing it, and fails the call with that output. */
export async function changeAsOperator(sim: RdsSimulator, privateKey: string, command: string): Promise<void> {
  const output = await runAsOperator(sim, privateKey, command);
  if (output.trim() !== "") throw new Error(`${command}: ${output}`);
}
