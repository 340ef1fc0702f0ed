import { spawn, type ChildProcess } from "node:child_process";
import { connectCsi, type CsiClients } from "./csi-client.js";

/** A service running as a real process (its main.js, or its bin/ launcher), as kubelet's sidecars would see it. */
export interface ServiceProcess {
  readonly clients: CsiClients;
  readonly pid: number;
  readonly output: () => { stdout: string; stderr: string };
  /** Settles with the exit code (null after a signal) once the process is gone, however it ended. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a service to completion (for `--help` and start-up failures). */
export function runToExit(mainPath: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const child = spawnMain(mainPath, args, env);
  const output = collect(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${mainPath} did not exit within 20 s`));
    }, 20_000);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, ...output() });
    });
  });
}

/** Starts a service and resolves once its CSI endpoint answers GetPluginInfo. */
export async function startServiceProcess(
  mainPath: string,
  endpointUri: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<ServiceProcess> {
  const child = spawnMain(mainPath, ["--csi-endpoint", endpointUri, ...args], env);
  const output = collect(child);
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const clients = connectCsi(endpointUri);
  const stop = async (signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> => {
    clients.close();
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      // The channel keeps reconnecting until the socket accepts connections; no polling, no sleeps.
      clients.identity.waitForReady(Date.now() + 20_000, (err) => (err ? reject(err) : resolve()));
      void exited.then((code) => reject(new Error(`${mainPath} exited with ${code} before serving: ${output().stderr}`)));
    });
  } catch (err) {
    await stop("SIGKILL");
    throw err;
  }
  return { clients, output, stop, exited, pid: child.pid! };
}

/** A `.js` entry runs under this Node; anything else is a service's launcher script (bin/), run as is. */
function spawnMain(mainPath: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess {
  const [file, argv] = mainPath.endsWith(".js") ? [process.execPath, [mainPath, ...args]] : [mainPath, args];
  return spawn(file, argv, {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function collect(child: ChildProcess): () => { stdout: string; stderr: string } {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  return () => ({ stdout, stderr });
}
