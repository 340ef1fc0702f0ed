import { startTestSimulator, type TestSimulator } from "./test-support/test-simulator.js";

const interval = (entry: { startedAt: string; finishedAt: string }): [number, number] => [Date.parse(entry.startedAt), Date.parse(entry.finishedAt)];

describe("how the simulated RDS schedules commands", () => {
  let t: TestSimulator;
  afterEach(async () => {
    await t.cleanup();
  });

  it("runs mutating commands one at a time, in arrival order, each holding the queue for its latency", async () => {
    t = await startTestSimulator({ latency: { mutateMs: 80 } });
    const sessions = await Promise.all([t.connect(), t.connect(), t.connect()]);
    await Promise.all(
      sessions.map((ssh, i) => ssh.exec(`/disk add type=file slot="pvc-${i}" file-path="/raid10/pvc-${i}.img" file-size=1M`)),
    );
    const adds = t.sim.commandLog();
    expect(adds.map((entry) => entry.outcome)).toEqual(["ok", "ok", "ok"]);
    for (let i = 1; i < adds.length; i += 1) {
      const [start] = interval(adds[i]!);
      const [, previousEnd] = interval(adds[i - 1]!);
      expect(start).toBeGreaterThanOrEqual(previousEnd);
    }
    expect(t.sim.disks()).toHaveLength(3);
  });

  it("runs read-only commands concurrently, also while a mutation waits", async () => {
    t = await startTestSimulator({ latency: { readMs: 150, mutateMs: 150 } });
    const sessions = await Promise.all([t.connect(), t.connect(), t.connect()]);
    await Promise.all([
      sessions[0]!.exec('/disk add type=file slot="pvc-1" file-path="/raid10/pvc-1.img" file-size=1M'),
      sessions[1]!.exec("/disk print detail"),
      sessions[2]!.exec("/file print detail"),
    ]);
    const [first, second, third] = t.sim.commandLog().map(interval);
    // Every pair overlaps: each started before the other finished.
    for (const [a, b] of [[first!, second!], [first!, third!], [second!, third!]] as const) {
      expect(a[0]).toBeLessThan(b[1]);
      expect(b[0]).toBeLessThan(a[1]);
    }
  });
});
