import { connect as connectHttp2, constants as h2, type ClientHttp2Session } from "node:http2";
import { connect as connectNet } from "node:net";
import { status } from "@grpc/grpc-js";
import { parseEndpoint } from "@rds-csi/core";

export interface Http2CallSettings {
  readonly deadlineMs?: number;
  /** Sends only the first bytes of the framed request and holds the rest, as a stalled client would. */
  readonly sendBytes?: number;
}

export interface Http2CallOutcome {
  /** The gRPC status the server sent; DEADLINE_EXCEEDED when it sent none in time, UNAVAILABLE when the stream closed without one. */
  readonly code: number;
  readonly details: string;
  readonly response: Buffer;
}

/** One HTTP/2 connection to a CSI endpoint carrying unary gRPC calls, each on its own stream. */
export interface Http2GrpcChannel {
  call(path: string, message: Uint8Array, settings?: Http2CallSettings): Promise<Http2CallOutcome>;
  close(): void;
}

/**
 * Unary gRPC calls over Node's HTTP/2 client, behaving as the Kubernetes sidecars' transport (grpc-go)
 * does where grpc-js does not: when the server ends a stream before the request was sent in full — a
 * status sent early, as for a message over the size limit — the client stops sending and resets the
 * stream with NO_ERROR (grpc-go internal/transport/http2_client.go, operateHeaders: "if client received
 * END_STREAM from server while stream was still active, send RST_STREAM"). grpc-js keeps sending the
 * rest, and under a flood of such calls some of its other calls on the connection were seen to hang until
 * their deadline; the controller is not what is measured there.
 */
export function openHttp2Channel(endpointUri: string): Http2GrpcChannel {
  const endpoint = parseEndpoint(endpointUri);
  const session: ClientHttp2Session = connectHttp2("http://localhost", {
    // Node's default (10 MB of queued frames) refuses a burst of large requests on one connection.
    maxSessionMemory: 1024,
    createConnection: () => (endpoint.kind === "unix" ? connectNet(endpoint.path) : connectNet(endpoint.port, endpoint.host)),
  });
  // A broken connection fails each open call on its own ("close" without a status).
  session.on("error", () => undefined);
  return {
    call: (path, message, settings = {}) => call(session, path, message, settings),
    close: () => session.close(),
  };
}

function call(session: ClientHttp2Session, path: string, message: Uint8Array, settings: Http2CallSettings): Promise<Http2CallOutcome> {
  const deadlineMs = settings.deadlineMs ?? 10_000;
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return new Promise((resolve) => {
    const stream = session.request({
      [h2.HTTP2_HEADER_METHOD]: "POST",
      [h2.HTTP2_HEADER_PATH]: path,
      [h2.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
      [h2.HTTP2_HEADER_TE]: "trailers",
      "grpc-timeout": `${deadlineMs}m`,
    });
    let outcome: { code: number; details: string } | undefined;
    const chunks: Buffer[] = [];
    // A trailers-only answer carries the status in its headers; otherwise the trailers do.
    const readStatus = (headers: Record<string, unknown>): void => {
      if (headers["grpc-status"] === undefined) return;
      outcome = { code: Number(headers["grpc-status"]), details: decodeURIComponent(String(headers["grpc-message"] ?? "")) };
    };
    stream.on("response", readStatus);
    stream.on("trailers", readStatus);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      if (!stream.writableFinished) stream.close(h2.NGHTTP2_NO_ERROR);
    });
    stream.on("error", () => undefined);
    let expired = false;
    const deadline = setTimeout(() => {
      expired = true;
      stream.close(h2.NGHTTP2_CANCEL);
    }, deadlineMs);
    stream.on("close", () => {
      clearTimeout(deadline);
      const { code, details } =
        outcome ??
        (expired
          ? { code: status.DEADLINE_EXCEEDED, details: `no status within ${deadlineMs} ms` }
          : { code: status.UNAVAILABLE, details: `the stream closed without a status (RST_STREAM code ${stream.rstCode})` });
      resolve({ code, details, response: Buffer.concat(chunks).subarray(5) });
    });
    if (settings.sendBytes === undefined) stream.end(framed);
    else stream.write(framed.subarray(0, settings.sendBytes));
  });
}
