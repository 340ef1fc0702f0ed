import { hostname } from "node:os";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquireRunLock } from "./run-lock.js";

const HOUR = 3_600_000;

describe("acquireRunLock", () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "selfcheck-lock-"));
    path = join(dir, "rds-csi-selfcheck.lock");
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const lockOf = (pid: number, host: string, startedAt: number) => writeFile(path, JSON.stringify({ pid, hostname: host, startedAt }));

  it("lets one run in at a time and names the holder to the second", async () => {
    const release = await acquireRunLock(path, HOUR);
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ pid: process.pid, hostname: hostname() });
    await expect(acquireRunLock(path, HOUR)).rejects.toThrow(new RegExp(`another self-check \\(pid ${process.pid} on .*\\) is running on this host; wait for it, or remove ${path}`));
    await release();
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
    await (await acquireRunLock(path, HOUR))();
  });

  it("takes over the lock of a run that is gone: a dead pid here, or older than any run lasts", async () => {
    await lockOf(2 ** 22 + 1, hostname(), Date.now()); // above pid_max: no such process
    await (await acquireRunLock(path, HOUR))();
    await lockOf(1, "another-container", Date.now() - 2 * HOUR);
    await (await acquireRunLock(path, HOUR))();
  });

  it("never takes a young lock of another pid namespace, or one it cannot read", async () => {
    await lockOf(2 ** 22 + 1, "another-container", Date.now());
    await expect(acquireRunLock(path, HOUR)).rejects.toThrow(/on another-container/);
    await writeFile(path, "garbage");
    await expect(acquireRunLock(path, HOUR)).rejects.toThrow(/cannot be read as a self-check lock/);
    expect(await readFile(path, "utf8")).toBe("garbage");
  });
});
