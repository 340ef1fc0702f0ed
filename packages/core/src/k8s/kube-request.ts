import type { IncomingMessage } from "node:http";
import { AlreadyExistsError, ConflictError, InternalError, NotFoundError, UnavailableError } from "../errors.js";
import { abortableSleep } from "../resilience/abortable-sleep.js";
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

/** What an error answer's meta/v1 `Status` body says, as far as the client acts on it. */
export interface KubeStatusFacts {
  readonly message?: string;
  /** `Status.reason`: `AlreadyExists` and `Conflict` share HTTP 409 and mean different things */
  readonly reason?: string;
  /** `Status.details.kind`: set when the server judged an object (validation), absent when a patch did not apply */
  readonly detailsKind?: string;
  /** the `Retry-After` header, else `Status.details.retryAfterSeconds` */
  readonly retryAfterSeconds?: number;
}

/** The API server answered with a status other than 2xx; `message` quotes its `Status.message`, when it sent one. */
export class KubeStatusError extends Error {
  override readonly name = "KubeStatusError";
  readonly reason: string | undefined;
  readonly detailsKind: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: number,
    readonly statusMessage: string | undefined,
    facts: Omit<KubeStatusFacts, "message"> = {},
  ) {
    super(`HTTP ${code}${statusMessage ? ` (${statusMessage})` : ""}`);
    this.reason = facts.reason;
    this.detailsKind = facts.detailsKind;
    this.retryAfterSeconds = facts.retryAfterSeconds;
  }
}

/**
 * How often one call is sent again after a 429 or 5xx that carries `Retry-After`, as client-go's
 * request does (its `maxRetries` default is 10). The call's deadline bounds the total: a wait that would
 * end after it is not begun, and the error (with the server's wait on its cause) goes to the caller.
 */
const MAX_RETRY_AFTER_ATTEMPTS = 10;

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
 * A 429 or 5xx with `Retry-After` (the server shedding load, apiserver's max-in-flight and priority
 * and fairness filters) is sent again after that wait, within the deadline.
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
    const deadlineAt = Date.now() + timeoutMs;
    return await withDeadline(signal, timeoutMs, async (combined) => {
      bounded = combined;
      for (let attempt = 1; ; attempt++) {
        try {
          return await send<T>(connection, call, combined);
        } catch (err) {
          const waitMs = retryAfterMs(err);
          if (waitMs === undefined || attempt >= MAX_RETRY_AFTER_ATTEMPTS || Date.now() + waitMs >= deadlineAt) throw err;
          await abortableSleep(waitMs, combined);
        }
      }
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
  // Both are 409: a create whose name is taken, and a lost optimistic-concurrency race (re-read, retry).
  if (code === 409) return err.reason === "AlreadyExists" ? new AlreadyExistsError(message, { cause: err }) : new ConflictError(message, { cause: err });
  // A 422 without `details.kind` is a JSON patch that does not apply to the object as it is now (a `test`
  // op failed, a path is gone: apiserver's patch handler answers NewGenericServerResponse(422) with empty
  // details); the object changed since it was read, which is a conflict. With `details.kind` the server
  // validated the object and refused it: a bug on our side, below.
  if (code === 422 && err.detailsKind === undefined) return new ConflictError(`${message}: the object changed since it was read (a JSON patch test or path no longer holds); re-read it`, { cause: err });
  // A token is re-read from its file every minute, so a rotated projected token recovers on its own.
  if (code === 401) return new UnavailableError(`${message}: the API server did not accept the credentials (expired or revoked token, or a kubeconfig for another cluster)`, { cause: err });
  if (code === 403) return new InternalError(`${message}: the API server refused the service account; check the chart's RBAC`, { cause: err });
  if (code === 429 || code >= 500) return new UnavailableError(message, { cause: err });
  // Any other 4xx means we sent something the API server cannot accept: a bug on our side.
  return new InternalError(message, { cause: err });
}

async function send<T>(connection: KubeConnection, call: KubeCall, signal: AbortSignal): Promise<T> {
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  // Content-Length, not chunked: Node's client sends a DELETE body chunked, which Node's own server (the
  // fake API server) refuses with a bare 400, and some proxies drop.
  const headers = payload === undefined ? call.headers : { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)), ...call.headers };
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
  if (code < 200 || code > 299) {
    const { message, ...facts } = parseStatus(text);
    const header = Number(response.headers["retry-after"]);
    // client-go reads Retry-After as whole seconds only (strconv.Atoi); an HTTP date is not honoured there either.
    const retryAfterSeconds = Number.isInteger(header) && header >= 0 ? header : facts.retryAfterSeconds;
    throw new KubeStatusError(code, message, { ...facts, retryAfterSeconds });
  }
  return (text === "" ? undefined : JSON.parse(text)) as T;
}

/** The wait the server asked for before this call may be sent again, when its answer allows a retry. */
export function retryAfterMs(err: unknown): number | undefined {
  const status = err instanceof KubeStatusError ? err : err instanceof Error && err.cause instanceof KubeStatusError ? err.cause : undefined;
  if (status?.retryAfterSeconds === undefined || !(status.code === 429 || status.code >= 500)) return undefined;
  return status.retryAfterSeconds * 1000;
}

/** What a Kubernetes `Status` body says; nothing for any other body. */
export function parseStatus(text: string): KubeStatusFacts {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {}; // not JSON: an HTML error page from a proxy, say
  }
  const status = record(parsed);
  const details = record(status["details"]);
  const nonEmpty = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
  const retry = details["retryAfterSeconds"];
  return {
    message: nonEmpty(status["message"]),
    reason: nonEmpty(status["reason"]),
    detailsKind: nonEmpty(details["kind"]),
    retryAfterSeconds: typeof retry === "number" && Number.isInteger(retry) && retry >= 0 ? retry : undefined,
  };
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
