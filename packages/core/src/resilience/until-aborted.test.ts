import { untilAborted } from "./until-aborted.js";

describe("untilAborted", () => {
  it("settles with the work when it comes first", async () => {
    await expect(untilAborted(new AbortController().signal, Promise.resolve(7))).resolves.toBe(7);
    await expect(untilAborted(new AbortController().signal, Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  });

  it("rejects with the signal's reason when it aborts first, and a late failure of the work stays handled", async () => {
    const controller = new AbortController();
    let fail!: (err: Error) => void;
    const work = new Promise<number>((_, reject) => (fail = reject));
    const waiting = untilAborted(controller.signal, work);
    const reason = new Error("deadline");
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    fail(new Error("late")); // would fail the test run as an unhandled rejection if it were not handled
    await new Promise((resolve) => setImmediate(resolve));
  });

  it("rejects at once on a signal that already aborted", async () => {
    const reason = new Error("gone");
    await expect(untilAborted(AbortSignal.abort(reason), new Promise<never>(() => {}))).rejects.toBe(reason);
  });

  it("runs a subscription's cleanup whichever comes first", async () => {
    const cleaned: string[] = [];
    const resolved = untilAborted<string>(new AbortController().signal, (resolve) => {
      setImmediate(() => resolve("value"));
      return () => cleaned.push("after value");
    });
    await expect(resolved).resolves.toBe("value");
    const controller = new AbortController();
    const aborted = untilAborted<string>(controller.signal, () => () => cleaned.push("after abort"));
    controller.abort(new Error("stop"));
    await expect(aborted).rejects.toThrow("stop");
    expect(cleaned).toEqual(["after value", "after abort"]);
  });
});
