import { CommandScheduler } from "./command-scheduler.js";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("CommandScheduler", () => {
  it("runs mutations one at a time in arrival order", async () => {
    const scheduler = new CommandScheduler(() => 0);
    const events: string[] = [];
    const gates = [deferred(), deferred()];
    const runs = gates.map((gate, i) =>
      scheduler.run("mutate", async () => {
        events.push(`start ${i}`);
        await gate.promise;
        events.push(`end ${i}`);
        return i;
      }),
    );
    gates[1]!.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(["start 0"]);
    gates[0]!.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1]);
    expect(events).toEqual(["start 0", "end 0", "start 1", "end 1"]);
  });

  it("runs reads at once, also while a mutation is in progress", async () => {
    const scheduler = new CommandScheduler(() => 0);
    const gate = deferred();
    const mutation = scheduler.run("mutate", () => gate.promise);
    const events: string[] = [];
    const reads = [scheduler.run("read", async () => events.push("read 1")), scheduler.run("read", async () => events.push("read 2"))];
    await Promise.all(reads);
    expect(events).toEqual(["read 1", "read 2"]);
    gate.resolve();
    await mutation;
  });

  it("keeps going after a mutation fails, and reports when it is idle", async () => {
    const scheduler = new CommandScheduler(() => 0);
    const failed = scheduler.run("mutate", async () => {
      throw new Error("no");
    });
    const next = scheduler.run("mutate", async () => "ok");
    await expect(failed).rejects.toThrow("no");
    await expect(next).resolves.toBe("ok");
    await expect(scheduler.idle()).resolves.toBeUndefined();
  });

  it("counts the task's own time as part of its latency, inside the mutation's turn", async () => {
    const asked: string[] = [];
    const scheduler = new CommandScheduler((kind) => {
      asked.push(kind);
      return 40;
    });
    const events: string[] = [];
    const first = scheduler.run("mutate", async (started) => {
      events.push("first ran");
      return started;
    });
    const second = scheduler.run("mutate", async () => void events.push("second ran"));
    // The first mutation's effect happens at once, its reply only after the latency; the second waits for that.
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(["first ran"]);
    expect(await first).toBeInstanceOf(Date);
    await second;
    expect(events).toEqual(["first ran", "second ran"]);
    await scheduler.run("read", async () => undefined);
    expect(asked).toEqual(["mutate", "mutate", "read"]);
  });
});
