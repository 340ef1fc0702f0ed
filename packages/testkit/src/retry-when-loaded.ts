/**
 * Lets jest run each test of the calling file up to `times` more times after a failure, logging every
 * failed attempt. Only for suites of real processes whose timing a loaded 2-core CI machine can upset
 * (the failover and reconciler-process scenarios): a failure that repeats still
 * fails the run, and every retried failure stays visible in the log (and in the resilience ledger).
 * Pass `import.meta`: jest hands ESM test files its object there, not as a global.
 */
export function retryWhenLoaded(meta: ImportMeta, times = 2): void {
  const { jest } = meta as unknown as { jest?: { retryTimes(count: number, options?: { logErrorsBeforeRetry?: boolean }): void } };
  if (jest === undefined) throw new Error("retryWhenLoaded must be called from a jest test file (import.meta.jest is missing)");
  jest.retryTimes(times, { logErrorsBeforeRetry: true });
}
