import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "../observability/logger.js";

/**
 * What a CSI handler gets besides its request. `signal` fires when the client cancels or the call's
 * deadline passes; handlers hand it to every SSH, exec and Kubernetes call so nothing outlives its caller.
 */
export interface CallContext {
  readonly requestId: string;
  /** The RPC's short name, e.g. `CreateVolume`. */
  readonly method: string;
  readonly signal: AbortSignal;
  readonly metadata: Metadata;
  /** Carries `method` and `request_id`; handlers add `volume_id` / `node_id` with `child`. */
  readonly logger: Logger;
}

/** The abort reasons a call's signal carries, so the status map can tell a deadline from a cancellation. */
export const deadlineExceeded = (): DOMException => new DOMException("the call's deadline passed", "TimeoutError");
export const clientCancelled = (): DOMException => new DOMException("the client cancelled the call", "AbortError");
