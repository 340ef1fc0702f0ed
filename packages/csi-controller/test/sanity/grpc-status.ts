/**
 * gRPC status codes, as the gRPC protocol numbers them (doc/statuscodes.md in grpc/grpc). The suite
 * compares a call's `code` with these; CSI's error tables are written in the same names.
 */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusName = keyof typeof GrpcStatus;

/** The outcome of a call as a status name, so a failed expectation reads `NOT_FOUND` rather than `5`. */
export async function statusOf(call: Promise<unknown>): Promise<{ readonly status: GrpcStatusName; readonly details: string }> {
  try {
    await call;
    return { status: "OK", details: "" };
  } catch (err) {
    const code = typeof err === "object" && err !== null && "code" in err ? err.code : undefined;
    const details = typeof err === "object" && err !== null && "details" in err ? String(err.details) : String(err);
    const name = (Object.keys(GrpcStatus) as GrpcStatusName[]).find((key) => GrpcStatus[key] === code);
    if (name === undefined) throw err;
    return { status: name, details };
  }
}
