import { KeyedSequencer } from "./keyed-sequencer.js";

const never = new AbortController().signal;

describe("KeyedSequencer", () => {
  it("runs tasks of one volume one at a time in order, other volumes alongside, and forgets idle volumes", async () => {
    const queue = new KeyedSequencer();
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`start ${name}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([queue.run("v1", never, task("a", 30)), queue.run("v1", never, task("b", 1)), queue.run("v2", never, task("c", 1))]);
    expect(results).toEqual(["a", "b", "c"]);
    expect(log.indexOf("end a")).toBeLessThan(log.indexOf("start b"));
    expect(log.indexOf("end c")).toBeLessThan(log.indexOf("end a"));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(queue.size).toBe(0);
  });

  it("a failed task does not block the next; a caller that gives up while waiting leaves without running", async () => {
    const queue = new KeyedSequencer();
    await expect(queue.run("v1", never, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    let release!: () => void;
    const first = queue.run("v1", never, () => new Promise<void>((resolve) => (release = resolve)));
    const caller = new AbortController();
    let ran = false;
    const second = queue.run("v1", caller.signal, async () => {
      ran = true;
    });
    caller.abort(new Error("deadline"));
    await expect(second).rejects.toThrow("deadline");
    release();
    await first;
    await expect(queue.run("v1", never, async () => "next")).resolves.toBe("next");
    expect(ran).toBe(false);
  });
});
