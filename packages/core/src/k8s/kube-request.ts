import {
  ApiException,
  Observable,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from "@kubernetes/client-node";
import { AbortedError, InternalError, NotFoundError, UnavailableError } from "../errors.js";

/** How long one Kubernetes API call may take when the caller's own deadline is later (or absent). */
export const DEFAULT_KUBE_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Runs one call of client-node's generated API with a deadline and classifies its failure once, here
 * (STYLE.md rule 3). `call` receives the per-call options that carry the abort signal: client-node 1.x
 * has no timeout of its own, so without them a call to an API server that stopped answering hangs
 * forever (ARCHITECTURE.md invariant 3).
 *
 * The caller's cancellation is passed through untouched (its `signal.reason`); only our own deadline
 * becomes `UnavailableError`.
 */
export async function kubeRequest<T>(
  what: string,
  signal: AbortSignal,
  call: (options: ConfigurationOptions) => Promise<T>,
  timeoutMs: number = DEFAULT_KUBE_REQUEST_TIMEOUT_MS,
): Promise<T> {
  signal.throwIfAborted();
  const deadline = AbortSignal.timeout(timeoutMs);
  const combined = AbortSignal.any([signal, deadline]);
  try {
    return await call({ middleware: [abortWith(combined)], middlewareMergeStrategy: "append" });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (deadline.aborted) throw new UnavailableError(`${what}: the Kubernetes API server did not answer within ${timeoutMs} ms`, { cause: err });
    throw classifyKubeError(what, err);
  }
}

/**
 * The one map from API server answers to our typed errors. Messages quote the API server's own
 * `Status.message` (which names the object) but never the raw exception, whose text carries response headers.
 */
export function classifyKubeError(what: string, err: unknown): Error {
  if (!(err instanceof ApiException)) {
    // No HTTP answer at all: connection refused or reset, DNS, TLS. The API server may come back.
    const reason = err instanceof Error ? err.message : String(err);
    return new UnavailableError(`${what}: cannot reach the Kubernetes API server: ${reason}`, { cause: err });
  }
  const code = (err as ApiException<unknown>).code;
  const detail = statusMessage((err as ApiException<unknown>).body);
  const message = `${what}: HTTP ${code}${detail ? ` (${detail})` : ""}`;
  if (code === 404) return new NotFoundError(message, { cause: err });
  // A conflict is a lost optimistic-concurrency race: re-read and retry.
  if (code === 409) return new AbortedError(message, { cause: err });
  if (code === 401 || code === 403) {
    return new InternalError(`${message}: the API server refused the service account; check the chart's RBAC`, { cause: err });
  }
  if (code === 429 || code >= 500) return new UnavailableError(message, { cause: err });
  // Any other 4xx means we sent something the API server cannot accept: a bug on our side.
  return new InternalError(message, { cause: err });
}

// The object-parameter API runs per-call middleware of the observable kind; it is the only hook that
// reaches the request before it is sent.
function abortWith(signal: AbortSignal): ObservableMiddleware {
  return {
    pre(context: RequestContext): Observable<RequestContext> {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context: ResponseContext): Observable<ResponseContext> => new Observable(Promise.resolve(context)),
  };
}

/** A Kubernetes `Status` body's message, whether client-node kept the body as text or parsed it. */
function statusMessage(body: unknown): string | undefined {
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof parsed === "object" && parsed !== null && "message" in parsed && typeof parsed.message === "string") {
    return parsed.message;
  }
  return undefined;
}
