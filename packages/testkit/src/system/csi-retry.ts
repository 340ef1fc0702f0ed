import { status } from "@grpc/grpc-js";

/** Codes on which kubelet and the CSI sidecars call again: the operation is busy or the plugin is not reachable yet. */
const RETRIED = new Set<number>([status.ABORTED, status.UNAVAILABLE, status.DEADLINE_EXCEEDED]);

export interface RetryOptions {
  /** Give up after this long (default 60 s). */
  readonly timeoutMs?: number;
  /** Told about each retried failure (for a progress line). */
  readonly onRetry?: (err: { code?: number; details?: string }, attempt: number) => void;
}

/**
 * Calls `call` until it answers, retrying ABORTED, UNAVAILABLE and DEADLINE_EXCEEDED with exponential
 * backoff as kubelet's operation executor and the sidecars do (external-provisioner: 1 s doubling to
 * 5 min; kubelet: 500 ms doubling to ~2 min; compressed here to 100 ms doubling to 2 s). Any other
 * error is the answer and is thrown at once.
 */
export async function callAsKubeletWould<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let delayMs = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === undefined || !RETRIED.has(code) || Date.now() + delayMs > deadline) throw err;
      options.onRetry?.(err as { code?: number; details?: string }, attempt);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 2000);
    }
  }
}
