/** Subscribes to an outcome; returns the cleanup to run once the outcome or the abort came first. */
export type Subscribe<T> = (resolve: (value: T) => void, reject: (err: unknown) => void) => () => void;

/**
 * Settles with `work`, or rejects with the signal's reason as soon as it aborts (at once when it already
 * has), whichever is first. `work` is a promise, which goes on (its owner decides when it ends; a late
 * rejection of abandoned work is handled here, never unhandled), or a subscription, whose cleanup runs
 * whichever comes first (a waiter taken off a list).
 */
export function untilAborted<T>(signal: AbortSignal, work: Promise<T> | Subscribe<T>): Promise<T> {
  const subscribe: Subscribe<T> =
    typeof work === "function"
      ? work
      : (resolve, reject) => {
          work.then(resolve, reject);
          return () => {};
        };
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      if (typeof work !== "function") work.catch(() => {});
      reject(signal.reason);
      return;
    }
    let unsubscribe = (): void => {};
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      unsubscribe();
      signal.removeEventListener("abort", onAbort);
      finish();
    };
    const onAbort = (): void => settle(() => reject(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    unsubscribe = subscribe(
      (value) => settle(() => resolve(value)),
      (err) => settle(() => reject(err)),
    );
    if (settled) unsubscribe();
  });
}
