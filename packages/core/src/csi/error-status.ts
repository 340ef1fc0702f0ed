import { status as GrpcCode } from "@grpc/grpc-js";
import {
  AbortedError,
  AlreadyExistsError,
  CsiError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  ResourceExhaustedError,
  UnavailableError,
  UnimplementedError,
} from "../errors.js";

export interface CallStatus {
  readonly code: GrpcCode;
  readonly details: string;
  /** False when the error was not one of ours: its message stays in the log, never goes to the caller. */
  readonly expected: boolean;
}

/**
 * The longest status message sent. grpc-js sends it percent-encoded in the grpc-message trailer; a
 * message of 100 KB (an error quoting a huge value) exceeded what the client accepts in a header
 * block, so the status never arrived and the connection stalled. 1 KiB is ample for any message of ours.
 */
export const MAX_STATUS_MESSAGE_CHARS = 1024;

const CODE_OF: ReadonlyArray<readonly [abstract new (...args: never[]) => CsiError, GrpcCode]> = [
  [NotFoundError, GrpcCode.NOT_FOUND],
  [AlreadyExistsError, GrpcCode.ALREADY_EXISTS],
  [ResourceExhaustedError, GrpcCode.RESOURCE_EXHAUSTED],
  [InvalidArgumentError, GrpcCode.INVALID_ARGUMENT],
  [UnavailableError, GrpcCode.UNAVAILABLE],
  [FailedPreconditionError, GrpcCode.FAILED_PRECONDITION],
  [AbortedError, GrpcCode.ABORTED],
  [InternalError, GrpcCode.INTERNAL],
  [OutOfRangeError, GrpcCode.OUT_OF_RANGE],
  [UnimplementedError, GrpcCode.UNIMPLEMENTED],
];

/**
 * The project's one map from a thrown value to a gRPC status. Our typed errors keep their code and
 * message; an aborted call reports why it was aborted; anything else is a bug or an unclassified
 * failure and becomes INTERNAL with a message that reveals nothing but the request id.
 */
export function statusOf(err: unknown, requestId: string): CallStatus {
  if (err instanceof CsiError) {
    const entry = CODE_OF.find(([type]) => err instanceof type);
    if (entry) return { code: entry[1], details: capped(err.message), expected: true };
  }
  if (err instanceof DOMException && err.name === "TimeoutError") {
    return { code: GrpcCode.DEADLINE_EXCEEDED, details: err.message, expected: true };
  }
  if (err instanceof DOMException && err.name === "AbortError") {
    return { code: GrpcCode.CANCELLED, details: err.message, expected: true };
  }
  return { code: GrpcCode.INTERNAL, details: `internal error (request id ${requestId})`, expected: false };
}

function capped(message: string): string {
  if (message.length <= MAX_STATUS_MESSAGE_CHARS) return message;
  const kept = MAX_STATUS_MESSAGE_CHARS - 64;
  return `${message.slice(0, kept)} … (${message.length - kept} more characters cut)`;
}
