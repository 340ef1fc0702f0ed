/**
 * The typed errors every service throws. Each names an outcome a CSI caller can act on; the one
 * mapping to gRPC status codes lives in `csi/error-status.ts`. Failures are classified into these
 * where they are produced (RouterOS parser, exec, Kubernetes calls), never guessed from messages later.
 */
export abstract class CsiError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The named object (volume, snapshot, node, disk) does not exist. */
export class NotFoundError extends CsiError {
  override readonly name: string = "NotFoundError";
}

/** An object with this name exists but is incompatible with the request. */
export class AlreadyExistsError extends CsiError {
  override readonly name: string = "AlreadyExistsError";
}

/** The backend ran out of something: space, slots, sessions. */
export class ResourceExhaustedError extends CsiError {
  override readonly name: string = "ResourceExhaustedError";
}

/** The request itself is wrong; the message names the field or setting. */
export class InvalidArgumentError extends CsiError {
  override readonly name: string = "InvalidArgumentError";
}

/** A dependency (the RDS, the API server) cannot be reached right now; retrying later may succeed. */
export class UnavailableError extends CsiError {
  override readonly name: string = "UnavailableError";
}

/** The request is valid but the system is not in a state that allows it (e.g. publish before stage). */
export class FailedPreconditionError extends CsiError {
  override readonly name: string = "FailedPreconditionError";
}

/** Another operation on the same key is in progress; the caller should retry. */
export class AbortedError extends CsiError {
  override readonly name: string = "AbortedError";
}

/**
 * A write lost a race with another writer: a stale `resourceVersion` or `uid` precondition, or a JSON
 * patch whose `test` no longer holds. Re-read the object and decide again; it maps to ABORTED like any
 * other "retry" outcome.
 */
export class ConflictError extends AbortedError {
  override readonly name: string = "ConflictError";
}

/** Something failed that the caller cannot fix; the message is safe to return. */
export class InternalError extends CsiError {
  override readonly name: string = "InternalError";
}

/** A size the driver cannot honour (above limit_bytes, below a copy's source, beyond the maximum): the CO may retry with another range. */
export class OutOfRangeError extends CsiError {
  override readonly name: string = "OutOfRangeError";
}

/** An RPC whose capability this plugin does not serve in its configuration: the caller must not retry. */
export class UnimplementedError extends CsiError {
  override readonly name: string = "UnimplementedError";
}

export function isCsiError(err: unknown): err is CsiError {
  return err instanceof CsiError;
}
