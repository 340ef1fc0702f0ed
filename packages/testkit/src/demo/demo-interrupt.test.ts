import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { mountPointsUnder } from "../system/system-rig.js";
import { loopDevicesUnder, readLeftovers } from "./interrupt-cleanup.js";

/**
 * `pnpm demo` interrupted the ways a user or the system does it — Ctrl-C (SIGINT to the whole process
 * group, as a terminal sends it), SIGTERM to the demo alone, SIGKILL to one of its processes, SIGKILL to
 * the demo itself — at different steps. Afterwards none of its processes runs and no mount, loop device,
 * temp directory or state file of it is left.
 */
const demoScript = fileURLToPath(new URL("../../../../scripts/demo.js", import.meta.url));

interface Run {
  readonly child: ChildProcess;
  readonly dir: Promise<string>;
  /** Resolves once the demo printed step `n` as done. */
  stepDone(n: number): Promise<void>;
  readonly pids: Set<number>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

function startDemo(): Run {
  // Its own process group, as a shell gives a foreground job: Ctrl-C reaches the demo and its children.
  const child = spawn(process.execPath, [demoScript], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  const waiters: { n: number; resolve: () => void }[] = [];
  let resolveDir!: (dir: string) => void;
  const dir = new Promise<string>((resolve) => (resolveDir = resolve));
  const pids = new Set<number>();
  let poller: NodeJS.Timeout | undefined;
  createInterface({ input: child.stdout! }).on("line", (line) => {
    text += `${line}\n`;
    const found = /working directory (\S+)/.exec(line)?.[1];
    if (found !== undefined) {
      resolveDir(found);
      // Every process the demo starts is in its leftovers file while it runs.
      poller = setInterval(() => void readLeftovers(`${found}.leftovers.json`).then((l) => l?.pids.forEach((pid) => pids.add(pid))), 50);
    }
    const done = /^✓ \[(\d+)\//.exec(line)?.[1];
    if (done !== undefined) for (const waiter of waiters.filter((w) => w.n <= Number(done))) waiter.resolve();
  });
  child.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      clearInterval(poller);
      resolve({ code, signal });
    }),
  );
  return {
    child,
    dir,
    pids,
    exit,
    output: () => text,
    stepDone: (n) => new Promise((resolve) => waiters.push({ n, resolve })),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits up to 30 s (the guardian polls every 250 ms, then unmounts and detaches) for nothing to be left. */
async function expectNothingLeft(run: Run): Promise<void> {
  const dir = await run.dir;
  const deadline = Date.now() + 30_000;
  const left = async () => ({
    processes: [...run.pids].filter(alive),
    mounts: await mountPointsUnder(dir),
    loops: await loopDevicesUnder(dir),
    dir: existsSync(dir),
    leftoversFile: existsSync(`${dir}.leftovers.json`) || existsSync(`${dir}.leftovers.json.tmp`),
  });
  const nothing = { processes: [], mounts: [], loops: [], dir: false, leftoversFile: false };
  while (Date.now() < deadline && JSON.stringify(await left()) !== JSON.stringify(nothing)) await new Promise((resolve) => setTimeout(resolve, 250));
  expect(await left()).toEqual(nothing);
  expect(run.pids.size).toBeGreaterThan(0);
}

/** The demo's first process is the RDS simulator. */
function simulatorPid(run: Run): number {
  const [simulator] = [...run.pids];
  if (simulator === undefined) throw new Error("the demo has not started the simulator");
  return simulator;
}

const interruptions: { how: string; afterStep: number; interrupt: (run: Run) => void; expected: (exit: { code: number | null; signal: NodeJS.Signals | null }) => boolean }[] = [
  { how: "Ctrl-C (SIGINT to the process group)", afterStep: 1, interrupt: (run) => process.kill(-run.child.pid!, "SIGINT"), expected: (e) => e.code === 130 },
  { how: "SIGTERM to the demo alone", afterStep: 4, interrupt: (run) => run.child.kill("SIGTERM"), expected: (e) => e.code === 130 },
  { how: "SIGKILL to the RDS simulator", afterStep: 3, interrupt: (run) => process.kill(simulatorPid(run), "SIGKILL"), expected: (e) => e.code === 1 },
  { how: "SIGKILL to the demo itself (its guardian cleans up)", afterStep: 5, interrupt: (run) => run.child.kill("SIGKILL"), expected: (e) => e.signal === "SIGKILL" },
];

test.each(interruptions)("$how after step $afterStep leaves nothing behind", async ({ afterStep, interrupt, expected }) => {
  const run = startDemo();
  try {
    await run.stepDone(afterStep);
    interrupt(run);
    const exit = await run.exit;
    expect({ exit, asExpected: expected(exit) }).toMatchObject({ asExpected: true });
    await expectNothingLeft(run);
  } catch (err) {
    try {
      process.kill(-run.child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
    throw new Error(`${String(err)}\n--- demo output ---\n${run.output()}`);
  }
}, 180_000);
