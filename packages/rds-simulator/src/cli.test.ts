import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { publicKeyFingerprint } from "./host-key.js";
import { connectSsh } from "./test-support/ssh-exec.js";
import { clientKey } from "./test-support/test-simulator.js";

const CLI = fileURLToPath(new URL("./cli.js", import.meta.url));

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function finish(child: ChildProcess): Promise<Finished> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

describe("rds-sim CLI", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "rds-sim-cli-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the host key fingerprint and ports, serves RouterOS over SSH and stops cleanly on SIGTERM", async () => {
    const keyFile = join(dir, "authorized_keys");
    await writeFile(keyFile, `${clientKey.public}\n`);
    const child = spawn(process.execPath, [CLI, "--state-dir", join(dir, "state"), "--port", "0", "--authorized-key", keyFile, "--pool-size", "2T", "--latency-mutate", "1ms"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    while (stdout.split("\n").length < 4) await once(child.stdout, "data");
    const started = stdout.split("\n").slice(0, 3);
    expect(started[0]).toMatch(/^rds-sim: host key fingerprint SHA256:[A-Za-z0-9+/]{43}$/u);
    expect(started[1]).toMatch(/^rds-sim: ssh listening on 127\.0\.0\.1:\d+$/u);
    expect(started[2]).toMatch(/^rds-sim: control API on http:\/\/127\.0\.0\.1:\d+$/u);
    const port = Number(started[1]!.split(":").at(-1));
    let presented = "";
    const session = await connectSsh({ port, username: "admin", privateKey: clientKey.private, onHostKey: (key) => (presented = publicKeyFingerprint(key)) });
    expect(`rds-sim: host key fingerprint ${presented}`).toBe(started[0]);
    expect((await session.exec('/disk print detail where mount-point="raid10"')).stdout).toContain("size=2 199 023 255 552");
    session.close();
    const status = (await (await fetch(`${started[2]!.split(" ").at(-1)}/status`)).json()) as { port: number };
    expect(status.port).toBe(port);

    const closed = once(child, "close");
    child.kill("SIGTERM");
    const [code] = (await closed) as [number | null];
    expect(code).toBe(0);
    expect(stdout.split("\n").slice(3)).toEqual(["rds-sim: stopped", ""]);
    const logLines = stderr.trim().split("\n").map((line) => JSON.parse(line) as { message: string; component: string });
    expect(logLines.map((line) => line.message)).toEqual(["rds simulator started", "stopping", "rds simulator stopped"]);
    expect(JSON.parse(await readFile(join(dir, "state", "state.json"), "utf8"))).toMatchObject({ pool: { size: 2 * 1024 ** 4 } });
  });

  it("prints its usage for --help", async () => {
    const result = await finish(spawn(process.execPath, [CLI, "--help"]));
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^usage: rds-sim --state-dir DIR/u);
  });

  it("stops with status 2 and names the flag when a flag is wrong", async () => {
    const result = await finish(spawn(process.execPath, [CLI, "--state-dir", dir, "--copy-from", "everything"]));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^rds-sim: --copy-from everything: must be one of settings-only, data, data-in-background, data-ignoring-size\n\nusage:/u);
  });

  it("stops with status 1 when the simulator cannot start", async () => {
    const result = await finish(spawn(process.execPath, [CLI, "--state-dir", dir, "--port", "0"]));
    expect(result).toMatchObject({ code: 1, stdout: "" });
    expect(result.stderr).toBe("rds-sim: password or authorizedKeys: at least one is needed, or nobody could log in\n");
  });
});
