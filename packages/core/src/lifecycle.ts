import type { Logger } from "./observability/logger.js";

/**
 * Runs `stop` once on the first SIGTERM or SIGINT (Kubernetes sends SIGTERM, then SIGKILL after the
 * pod's grace period), then exits: a timer or socket nobody closed must not keep a stopped plugin alive
 * until SIGKILL. A second signal means the operator is not willing to wait: exit at once.
 * Returns a function that removes the handlers.
 */
export function onTerminationSignal(logger: Logger, stop: (signal: NodeJS.Signals) => Promise<void>): () => void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn("second termination signal; exiting without waiting", { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info("termination signal received; shutting down", { signal });
    stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error("shutdown failed", { error: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT"];
  for (const signal of signals) process.on(signal, handle);
  return () => {
    for (const signal of signals) process.off(signal, handle);
  };
}
