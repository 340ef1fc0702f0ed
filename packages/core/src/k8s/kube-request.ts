import type { IncomingMessage } from "node:http";
import { AbortedError, InternalError, NotFoundError, UnavailableError } from "../errors.js";
import { withDeadline } from "../resilience/with-deadline.js";
import type { KubeConnection, KubeHttpRequest } from "./kube-connection.js";

/** How long one Kubernetes API call may take when the caller's own deadline is later (or absent). */
export const DEFAULT_KUBE_REQUEST_TIMEOUT_MS = 10_000;

/**
 * The largest answer read into memory. A list page (500 objects) is far below it; an answer beyond it is
 * not something the API server sends, and buffering it would take the process's memory (a proxy's
 * runaway reply, say).
 */
export const MAX_KUBE_RESPONSE_BYTES = 32 * 1024 * 1024;

/** An answer longer than the call's limit; reading stopped there. */
export class KubeResponseTooLargeError extends Error {
  override readonly name = "KubeResponseTooLargeError";
}

/** The API server answered with a status other than 2xx; `message` is its `Status.message`, when it sent one. */
export class KubeStatusError extends Error {
  override readonly name = "KubeStatusError";

  constructor(
    readonly code: number,
    readonly statusMessage: string | undefined,
  ) {
    super(`HTTP ${code}${statusMessage ? ` (${statusMessage})` : ""}`);
  }
}

export interface KubeCall extends KubeHttpRequest {
  /** sent as JSON */
  readonly body?: unknown;
  /** default MAX_KUBE_RESPONSE_BYTES */
  readonly maxResponseBytes?: number;
}

/**
 * One Kubernetes API call with a deadline, its failure classified once, here (STYLE.md rule 3): the
 * JSON answer of a 2xx, otherwise a typed error. The caller's cancellation is passed through untouched
 * (its `signal.reason`); only our own deadline becomes `UnavailableError` (ARCHITECTURE.md invariant 3).
 */
export async function kubeRequest<T>(
  connection: KubeConnection,
  what: string,
  call: KubeCall,
  signal: AbortSignal,
  timeoutMs: number = DEFAULT_KUBE_REQUEST_TIMEOUT_MS,
): Promise<T> {
  signal.throwIfAborted();
  let bounded: AbortSignal | undefined;
  try {
    return await withDeadline(signal, timeoutMs, (combined) => {
      bounded = combined;
      return send<T>(connection, call, combined);
    });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (bounded?.aborted) throw new UnavailableError(`${what}: the Kubernetes API server did not answer within ${timeoutMs} ms`, { cause: err });
    throw classifyKubeError(what, err);
  }
}

/**
 * The one map from API server answers to our typed errors. Messages quote the API server's own
 * `Status.message` (which names the object), never response headers or bodies of another shape.
 */
export function classifyKubeError(what: string, err: unknown): Error {
  if (err instanceof KubeResponseTooLargeError) return new InternalError(`${what}: ${err.message}`, { cause: err });
  if (!(err instanceof KubeStatusError)) {
    // No HTTP answer at all: connection refused or reset, DNS, TLS. The API server may come back.
    const reason = err instanceof Error ? err.message : String(err);
    return new UnavailableError(`${what}: cannot reach the Kubernetes API server: ${reason}`, { cause: err });
  }
  const { code } = err;
  const message = `${what}: ${err.message}`;
  if (code === 404) return new NotFoundError(message, { cause: err });
  // A conflict is a lost optimistic-concurrency race: re-read and retry.
  if (code === 409) return new AbortedError(message, { cause: err });
  // A token is re-read from its file every minute, so a rotated projected token recovers on its own.
  if (code === 401) return new UnavailableError(`${message}: the API server did not accept the credentials (expired or revoked token, or a kubeconfig for another cluster)`, { cause: err });
  if (code === 403) return new InternalError(`${message}: the API server refused the service account; check the chart's RBAC`, { cause: err });
  if (code === 429 || code >= 500) return new UnavailableError(message, { cause: err });
  // Any other 4xx means we sent something the API server cannot accept: a bug on our side.
  return new InternalError(message, { cause: err });
}

async function send<T>(connection: KubeConnection, call: KubeCall, signal: AbortSignal): Promise<T> {
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  const headers = payload === undefined ? call.headers : { "content-type": "application/json", ...call.headers };
  const limit = call.maxResponseBytes ?? MAX_KUBE_RESPONSE_BYTES;
  const request = await connection.open({ ...call, headers }, signal);
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    request.once("response", resolve);
    request.once("error", reject);
  });
  request.end(payload);
  const response = await answered;
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of response) {
    bytes += (chunk as Buffer).length;
    if (bytes > limit) {
      request.destroy();
      throw new KubeResponseTooLargeError(`the answer exceeds ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const code = response.statusCode ?? 0;
  if (code < 200 || code > 299) throw new KubeStatusError(code, statusMessage(text));
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

/** The `message` of a Kubernetes `Status` body; undefined for any other body. */
export function statusMessage(text: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && "message" in parsed && typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON: an HTML error page from a proxy, say
  }
  return undefined;
}
