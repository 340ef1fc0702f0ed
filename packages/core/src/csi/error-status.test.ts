import { status as GrpcCode } from "@grpc/grpc-js";
import {
  AbortedError,
  AlreadyExistsError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  ResourceExhaustedError,
  UnavailableError,
  UnimplementedError,
} from "../errors.js";
import { clientCancelled, deadlineExceeded } from "./call-context.js";
import { MAX_STATUS_MESSAGE_CHARS, statusOf } from "./error-status.js";

describe("statusOf", () => {
  it.each([
    [new NotFoundError("volume pvc-1 not found"), GrpcCode.NOT_FOUND],
    [new AlreadyExistsError("volume pvc-1 exists with another size"), GrpcCode.ALREADY_EXISTS],
    [new ResourceExhaustedError("not enough space"), GrpcCode.RESOURCE_EXHAUSTED],
    [new InvalidArgumentError("volume_id is required"), GrpcCode.INVALID_ARGUMENT],
    [new UnavailableError("RDS unreachable"), GrpcCode.UNAVAILABLE],
    [new FailedPreconditionError("volume is not staged"), GrpcCode.FAILED_PRECONDITION],
    [new AbortedError("an operation on volume pvc-1 is already in progress"), GrpcCode.ABORTED],
    [new InternalError("RDS answered something we cannot read"), GrpcCode.INTERNAL],
    [new OutOfRangeError("required_bytes 20 GiB exceeds limit_bytes 10 GiB"), GrpcCode.OUT_OF_RANGE],
    [new UnimplementedError("snapshots are not served: the copy strategy is unverified"), GrpcCode.UNIMPLEMENTED],
  ])("keeps the code and message of %p", (err, code) => {
    expect(statusOf(err, "req-1")).toEqual({ code, details: err.message, expected: true });
  });

  it("keeps the code of a subclass of a typed error", () => {
    class ChannelClosed extends UnavailableError {}
    expect(statusOf(new ChannelClosed("ssh channel closed"), "r").code).toBe(GrpcCode.UNAVAILABLE);
  });

  it("tells a passed deadline from a cancelled call", () => {
    expect(statusOf(deadlineExceeded(), "r").code).toBe(GrpcCode.DEADLINE_EXCEEDED);
    expect(statusOf(clientCancelled(), "r").code).toBe(GrpcCode.CANCELLED);
  });

  it.each([
    [new TypeError("Cannot read properties of undefined (reading 'password=s3cret')")],
    ["a thrown string with /etc/rds-csi/ssh-key/id_ed25519"],
    [undefined],
    [{ code: 5, message: "looks like a status but is not ours" }],
  ])("hides anything unclassified behind INTERNAL with only the request id: %p", (thrown) => {
    expect(statusOf(thrown, "req-42")).toEqual({
      code: GrpcCode.INTERNAL,
      details: "internal error (request id req-42)",
      expected: false,
    });
  });

  it("cuts a long message to MAX_STATUS_MESSAGE_CHARS, saying how much was cut", () => {
    const status = statusOf(new InvalidArgumentError(`parameters.x "${"v".repeat(1_000_000)}" is wrong`), "r");
    expect(status.details.length).toBeLessThanOrEqual(MAX_STATUS_MESSAGE_CHARS);
    expect(status.details).toMatch(/^parameters\.x "v+ … \(\d+ more characters cut\)$/);
    const fits = "m".repeat(MAX_STATUS_MESSAGE_CHARS);
    expect(statusOf(new InvalidArgumentError(fits), "r").details).toBe(fits);
  });
});
