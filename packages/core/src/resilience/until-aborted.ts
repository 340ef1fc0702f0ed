/**
 * Settles with `work`, or rejects with the signal's reason as soon as it aborts, whichever is first.
 * `work` itself goes on (its owner decides when it ends); handling it here also keeps a late rejection
 * of abandoned work from going unhandled.
 */
export function untilAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
