import { randomUUID } from "node:crypto";
import {
  Metadata,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceError,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "../observability/logger.js";
import { clientCancelled, deadlineExceeded, type CallContext } from "./call-context.js";
import { InvalidArgumentError } from "../errors.js";
import { statusOf } from "./error-status.js";
import { checkRequestLimits } from "./request-limits.js";
import { UndecodableRequest } from "./strict-request-decoding.js";

/** The slice of a ts-proto grpc-js method definition the adapter needs. */
interface MethodDefinitionLike {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

export type ServiceDefinitionLike = { readonly [method: string]: MethodDefinitionLike };

/**
 * A service implementation as async functions, typed from the generated definition: a missing or
 * mistyped RPC is a compile error. Streaming methods (SnapshotMetadata) are not served by this driver.
 */
export type UnaryImplementation<D> = {
  readonly [K in keyof D]: D[K] extends {
    requestStream: false;
    responseStream: false;
    requestDeserialize(bytes: Buffer): infer Req;
    responseSerialize(value: infer Res): Buffer;
  }
    ? (request: Req, context: CallContext) => Promise<Res>
    : never;
};

export interface UnaryCallInfo {
  /** Full service name, e.g. `csi.v1.Controller`. */
  readonly service: string;
  readonly method: string;
  readonly request: unknown;
  readonly context: CallContext;
}

/** Cross-cutting behaviour around every call (logging, metrics); it must call `next` at most once. */
export type Interceptor = (call: UnaryCallInfo, next: () => Promise<unknown>) => Promise<unknown>;

export interface AdapterOptions {
  readonly interceptors: readonly Interceptor[];
  readonly logger: Logger;
}

const DEADLINE_TOLERANCE_MS = 100;

/** Metadata key a caller may set to correlate its logs with ours; otherwise we make one up. */
export const REQUEST_ID_METADATA_KEY = "x-request-id";

/**
 * Turns async handlers into grpc-js's callback form. This is the only place `callback` is called, so
 * every call is answered exactly once, and the only place a thrown value becomes a status.
 */
export function toGrpcImplementation<D extends ServiceDefinitionLike>(
  definition: D,
  implementation: UnaryImplementation<D>,
  options: AdapterOptions,
): UntypedServiceImplementation {
  const result: UntypedServiceImplementation = {};
  for (const [key, method] of Object.entries(definition)) {
    if (method.requestStream || method.responseStream) continue;
    const handler = implementation[key as keyof D] as unknown as (req: unknown, ctx: CallContext) => Promise<unknown>;
    const [, service = "", name = key] = /^\/([^/]+)\/([^/]+)$/.exec(method.path) ?? [];
    result[key] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      void answer(call, callback, { service, method: name, handler: handler.bind(implementation) }, options);
    };
  }
  return result;
}

async function answer(
  call: ServerUnaryCall<unknown, unknown>,
  callback: sendUnaryData<unknown>,
  target: { service: string; method: string; handler: (req: unknown, ctx: CallContext) => Promise<unknown> },
  options: AdapterOptions,
): Promise<void> {
  const requestId = requestIdOf(call.metadata);
  // grpc-js emits "cancelled" both when the client cancels and when it enforces the call's deadline;
  // the reason tells handlers (and the status map) which of the two happened.
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  const abort = new AbortController();
  // grpc-js's deadline timer runs on the monotonic clock and may fire a moment before the wall-clock
  // deadline; a cancellation that close to the deadline is the deadline.
  const onCancelled = (): void =>
    abort.abort(Date.now() >= deadlineMs - DEADLINE_TOLERANCE_MS ? deadlineExceeded() : clientCancelled());
  call.on("cancelled", onCancelled);
  const context: CallContext = {
    requestId,
    method: target.method,
    signal: abort.signal,
    metadata: call.metadata,
    logger: options.logger.child({ method: target.method, request_id: requestId }),
  };
  const info: UnaryCallInfo = { service: target.service, method: target.method, request: call.request, context };
  const chain = options.interceptors.reduceRight<() => Promise<unknown>>(
    (next, interceptor) => () => interceptor(info, next),
    () => target.handler(admissible(call.request), context),
  );
  try {
    const response = await chain();
    callback(null, response);
  } catch (err) {
    const status = statusOf(err, requestId);
    if (!status.expected) {
      context.logger.error("unexpected failure", { error: err instanceof Error ? err : String(err) });
    }
    const error: Partial<ServiceError> = { name: "CsiStatus", message: status.details, code: status.code, details: status.details };
    callback(error as ServiceError, null);
  } finally {
    call.removeListener("cancelled", onCancelled);
  }
}

/** Innermost, so that logs and metrics count the refusal; before the handler, so nothing has happened yet. */
function admissible(request: unknown): unknown {
  if (request instanceof UndecodableRequest) throw new InvalidArgumentError(request.reason);
  checkRequestLimits(request);
  return request;
}

function requestIdOf(metadata: Metadata): string {
  const [given] = metadata.get(REQUEST_ID_METADATA_KEY);
  return typeof given === "string" && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
}
