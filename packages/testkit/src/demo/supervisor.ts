import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

/** A process the demo started: how to stop it and how to tell that it ended. */
export interface Supervised {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** What it printed, where the demo keeps it (the services' JSON logs), for a failure report. */
  readonly output?: () => { stdout: string; stderr: string };
}

/**
 * Keeps the demo's processes: `trouble` rejects as soon as one of them ends while the demo still needs
 * it (killed by someone, crashed) or the demo itself is told to stop (Ctrl-C, SIGTERM, SIGHUP), so the
 * step that is running gives up at once and the clean-up runs.
 */
export class Supervisor {
  readonly processes: Supervised[] = [];
  readonly trouble: Promise<never>;
  #raise!: (reason: Error) => void;
  #stopping = false;
  signal: NodeJS.Signals | undefined;

  constructor(private readonly onChange: (pids: number[]) => Promise<void>) {
    this.trouble = new Promise<never>((_, reject) => {
      this.#raise = reject;
    });
    // Nobody may be awaiting trouble at the moment it fires: that is not an unhandled rejection.
    this.trouble.catch(() => undefined);
  }

  readonly #expectedToEnd = new Set<Supervised>();

  /** From now on `process` may end without that being trouble (the demo kills it on purpose). */
  expectEnd(process: Supervised): void {
    this.#expectedToEnd.add(process);
  }

  async add<T extends Supervised>(process: T): Promise<T> {
    this.processes.push(process);
    void process.exited.then((code) => {
      if (!this.#stopping && !this.#expectedToEnd.has(process)) this.#raise(new Error(`${process.name} (pid ${process.pid}) ended unexpectedly (${code === null ? "killed by a signal" : `exit ${code}`})`));
    });
    await this.onChange(this.processes.map((p) => p.pid));
    return process;
  }

  /** Ends the step in progress because the demo was told to stop. */
  interrupt(signal: NodeJS.Signals): void {
    this.signal = signal;
    this.#raise(new Error(`interrupted by ${signal}`));
  }

  /** Stops every process, last started first: SIGTERM, then SIGKILL after 10 s. Returns those that did not exit 0. */
  async stopAll(): Promise<string[]> {
    this.#stopping = true;
    const unclean: string[] = [];
    for (const process of [...this.processes].reverse()) {
      const timer = setTimeout(() => void process.stop("SIGKILL"), 10_000);
      const code = await process.stop("SIGTERM");
      clearTimeout(timer);
      if (code !== 0 && !this.#expectedToEnd.has(process)) unclean.push(`${process.name} exited with ${code ?? "a signal"}`);
    }
    return unclean;
  }
}

/** `rds-sim` as its own process; its port, host key and control API read from the lines it prints on start. */
export async function startSimulatorProcess(cli: string, args: readonly string[]): Promise<Supervised & { port: number; hostKeyFingerprint: string; controlUrl: string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "ignore"] });
  const exited = exitOf(child);
  const facts: { fingerprint?: string; port?: number; controlUrl?: string } = {};
  for await (const line of createInterface({ input: child.stdout! })) {
    facts.fingerprint ??= /host key fingerprint (\S+)/.exec(line)?.[1];
    facts.port ??= Number(/ssh listening on [\d.]+:(\d+)/.exec(line)?.[1]) || undefined;
    facts.controlUrl ??= /control API on (\S+)/.exec(line)?.[1];
    if (facts.fingerprint && facts.port && facts.controlUrl) break;
  }
  if (!facts.fingerprint || !facts.port || !facts.controlUrl) {
    child.kill("SIGKILL");
    throw new Error("rds-sim did not report its port, host key and control API");
  }
  child.stdout!.resume();
  return { name: "rds-sim", pid: child.pid!, exited, stop: stopper(child, exited), port: facts.port, hostKeyFingerprint: facts.fingerprint, controlUrl: facts.controlUrl };
}

/** A process that prints `<prefix> <url>` on one line once it serves (the fake API server). */
export async function startUrlProcess(name: string, file: string, args: readonly string[], pattern: RegExp): Promise<Supervised & { url: string }> {
  const child = spawn(process.execPath, [file, ...args], { stdio: ["ignore", "pipe", "ignore"] });
  const exited = exitOf(child);
  let url: string | undefined;
  for await (const line of createInterface({ input: child.stdout! })) {
    url = pattern.exec(line)?.[1];
    if (url !== undefined) break;
  }
  if (url === undefined) {
    child.kill("SIGKILL");
    throw new Error(`${name} did not say where it listens`);
  }
  child.stdout!.resume();
  return { name, pid: child.pid!, exited, stop: stopper(child, exited), url };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return once(child, "exit").then(([code]) => code as number | null);
}

function stopper(child: ChildProcess, exited: Promise<number | null>): (signal?: NodeJS.Signals) => Promise<number | null> {
  return async (signal = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
}
