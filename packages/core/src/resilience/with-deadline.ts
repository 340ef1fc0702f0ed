/**
 * Runs `work` with a signal that aborts when `stopping` does or after `timeoutMs`, for background work
 * that has no caller's deadline to inherit. The timer is held here and cleared at the end, on purpose:
 * an `AbortSignal.timeout()` referenced only through `AbortSignal.any()` is weakly held and can be
 * garbage-collected before it fires (seen on Node 20), which would leave the work without a deadline.
 */
export async function withDeadline<T>(stopping: AbortSignal, timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError")), timeoutMs);
  try {
    return await work(AbortSignal.any([stopping, deadline.signal]));
  } finally {
    clearTimeout(timer);
  }
}
