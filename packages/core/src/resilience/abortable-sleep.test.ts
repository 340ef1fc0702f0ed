import { abortableSleep } from "./abortable-sleep.js";

describe("abortableSleep", () => {
  it("resolves after the wait", async () => {
    await expect(abortableSleep(5, new AbortController().signal)).resolves.toBeUndefined();
  });

  it("rejects with the signal's own reason when aborted during the wait", async () => {
    const controller = new AbortController();
    const reason = new DOMException("deadline", "TimeoutError");
    const waiting = abortableSleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it("rejects at once for a signal that is already aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("gone"));
    await expect(abortableSleep(60_000, controller.signal)).rejects.toThrow("gone");
  });
});
