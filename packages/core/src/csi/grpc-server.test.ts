import { connect as connectHttp2, constants as h2 } from "node:http2";
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { connect as connectNet, createServer as createNetServer, type Server as NetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { promisify } from "node:util";
import { credentials, Metadata, status as GrpcCode, type ServiceError } from "@grpc/grpc-js";
import { FailedPreconditionError, NotFoundError } from "../errors.js";
import { createLogger } from "../observability/logger.js";
import { MetricsRegistry } from "../observability/metrics.js";
import { parseEndpoint } from "./endpoint.js";
import { GetPluginInfoRequest, GetPluginInfoResponse, IdentityClient, type ProbeResponse } from "./generated/csi/v1/csi.js";
import { startCsiServer, type CsiServer } from "./grpc-server.js";
import { identityService } from "./identity-service.js";

type Probe = (signal: AbortSignal) => Promise<boolean>;

interface Harness {
  server: CsiServer;
  client: IdentityClient;
  logs: () => Array<Record<string, unknown>>;
  metrics: MetricsRegistry;
}

let dir: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "rds-csi-grpc-"));
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  await rm(dir, { recursive: true, force: true });
});

async function start(probe: Probe, endpointUri = `unix://${dir}/sub/dir/csi.sock`): Promise<Harness> {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on("data", (chunk: Buffer) => lines.push(...chunk.toString("utf8").split("\n").filter(Boolean)));
  const logger = createLogger({ level: "debug", component: "test", stream });
  const metrics = new MetricsRegistry();
  const server = await startCsiServer({
    endpoint: parseEndpoint(endpointUri),
    services: [identityService({ driverName: "rds.csi.srvlab.io", version: "1.2.3", capabilities: [], probe })],
    logger,
    metrics,
  });
  cleanups.push(() => server.shutdown(1000));
  const target = server.uri.startsWith("unix://") ? server.uri : server.uri.slice("tcp://".length);
  const client = new IdentityClient(target, credentials.createInsecure());
  cleanups.push(() => client.close());
  return { server, client, logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>), metrics };
}

function probe(client: IdentityClient, options: { deadlineMs?: number; metadata?: Metadata } = {}): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    client.probe({}, options.metadata ?? new Metadata(), { deadline: Date.now() + (options.deadlineMs ?? 5000) }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

function getPluginInfo(client: IdentityClient): Promise<GetPluginInfoResponse> {
  return new Promise((resolve, reject) => client.getPluginInfo({}, (err, res) => (err ? reject(err) : resolve(res))));
}

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  return promise.then(
    () => {
      throw new Error("the call succeeded but should have failed");
    },
    (err: ServiceError) => err,
  );
}

/** A probe that stays in flight until the test releases it, recording the signal it was given. */
function heldProbe(): { probe: Probe; started: Promise<AbortSignal>; release: (ready: boolean) => void } {
  let release!: (ready: boolean) => void;
  let markStarted!: (signal: AbortSignal) => void;
  const started = new Promise<AbortSignal>((resolve) => (markStarted = resolve));
  const released = new Promise<boolean>((resolve) => (release = resolve));
  return {
    probe: (signal) => {
      markStarted(signal);
      return released;
    },
    started,
    release,
  };
}

describe("CSI gRPC server on a unix socket", () => {
  it("serves Identity, creating the socket's directory and setting its mode", async () => {
    const { client } = await start(async () => true);
    expect(await getPluginInfo(client)).toEqual({ name: "rds.csi.srvlab.io", vendorVersion: "1.2.3", manifest: {} });
    expect(await probe(client)).toEqual({ ready: true });
    expect((await stat(`${dir}/sub/dir/csi.sock`)).mode & 0o777).toBe(0o660);
  });

  it("replaces a socket file left behind by a process that died", async () => {
    const path = `${dir}/sub/dir/csi.sock`;
    // A child that binds the socket and is killed leaves the file, as a crashed plugin would.
    await promisify(execFile)(process.execPath, [
      "-e",
      `require("fs").mkdirSync(${JSON.stringify(`${dir}/sub/dir`)}, { recursive: true });
       require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"));`,
    ]).catch(() => undefined);
    expect((await stat(path)).isSocket()).toBe(true);
    const { client } = await start(async () => true);
    expect(await probe(client)).toEqual({ ready: true });
  });

  it("refuses a socket another process is still serving", async () => {
    const path = join(dir, "busy.sock");
    const other: NetServer = createNetServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => other.listen(path, resolve));
    cleanups.push(() => new Promise<void>((resolve) => other.close(() => resolve())));
    await expect(start(async () => true, `unix://${path}`)).rejects.toThrow(FailedPreconditionError);
    await expect(start(async () => true, `unix://${path}`)).rejects.toThrow(`socket ${path} is in use by another process`);
  });

  it("refuses to replace a path that is not a socket", async () => {
    const path = join(dir, "data.img");
    await writeFile(path, "precious");
    await expect(start(async () => true, `unix://${path}`)).rejects.toThrow("exists and is not a socket");
    expect((await stat(path)).size).toBe(8);
  });

  it("removes the socket on shutdown", async () => {
    const { server } = await start(async () => true);
    await server.shutdown(1000);
    await expect(stat(`${dir}/sub/dir/csi.sock`)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("answers requests whose :authority is the socket path, as older sidecars send it", async () => {
    await start(async () => true);
    const path = `${dir}/sub/dir/csi.sock`;
    const session = connectHttp2("http://localhost", { createConnection: () => connectNet(path) });
    cleanups.push(() => void session.close());
    const body = Buffer.alloc(5); // gRPC frame: not compressed, zero-length GetPluginInfoRequest
    const stream = session.request({
      [h2.HTTP2_HEADER_METHOD]: "POST",
      [h2.HTTP2_HEADER_PATH]: "/csi.v1.Identity/GetPluginInfo",
      [h2.HTTP2_HEADER_AUTHORITY]: path,
      [h2.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
      te: "trailers",
    });
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      stream.on("trailers", resolve);
      stream.on("error", reject);
      stream.end(body);
    });
    expect(trailers["grpc-status"]).toBe("0");
    const payload = Buffer.concat(chunks).subarray(5);
    expect(GetPluginInfoResponse.decode(payload).name).toBe("rds.csi.srvlab.io");
    expect(GetPluginInfoRequest.encode({}).finish()).toHaveLength(0);
  });
});

describe("CSI gRPC server on TCP", () => {
  it("binds an ephemeral port and reports it", async () => {
    const { server, client } = await start(async () => true, "tcp://127.0.0.1:0");
    expect(server.uri).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(server.uri).not.toBe("tcp://127.0.0.1:0");
    expect(await probe(client)).toEqual({ ready: true });
  });

  it("fails with the endpoint in the message when the port is taken", async () => {
    const { server } = await start(async () => true, "tcp://127.0.0.1:0");
    await expect(start(async () => true, server.uri)).rejects.toThrow(`cannot listen on ${server.uri}`);
  });
});

describe("calls", () => {
  it("maps a typed error to its status code and keeps its message", async () => {
    const { client } = await start(async () => {
      throw new NotFoundError("volume pvc-1 does not exist");
    });
    const err = await rejection(probe(client));
    expect(err.code).toBe(GrpcCode.NOT_FOUND);
    expect(err.details).toBe("volume pvc-1 does not exist");
  });

  it("turns an unexpected exception into INTERNAL without leaking it, and keeps serving", async () => {
    let calls = 0;
    const { client, logs } = await start(async () => {
      calls += 1;
      if (calls === 1) throw new TypeError("secret detail: password=hunter2");
      return true;
    });
    const err = await rejection(probe(client, { metadata: withRequestId("req-7") }));
    expect(err.code).toBe(GrpcCode.INTERNAL);
    expect(err.details).toBe("internal error (request id req-7)");
    expect(await probe(client)).toEqual({ ready: true });
    // The stack is for the operator's log, not for the caller.
    const failure = logs().find((line) => line.message === "unexpected failure");
    expect(failure).toMatchObject({ request_id: "req-7", method: "Probe", level: "error" });
    expect(JSON.stringify(failure)).toContain("hunter2");
  });

  it("fires the handler's signal and answers DEADLINE_EXCEEDED when the deadline passes", async () => {
    const held = heldProbe();
    const { client } = await start(held.probe);
    const call = rejection(probe(client, { deadlineMs: 300 }));
    const signal = await held.started;
    const err = await call;
    expect(err.code).toBe(GrpcCode.DEADLINE_EXCEEDED);
    await waitFor(() => signal.aborted);
    expect((signal.reason as DOMException).name).toBe("TimeoutError");
    held.release(true);
  });

  it("fires the handler's signal when the client cancels", async () => {
    const held = heldProbe();
    const { client } = await start(held.probe);
    const call = client.probe({}, () => undefined);
    const signal = await held.started;
    call.cancel();
    await waitFor(() => signal.aborted);
    expect((signal.reason as DOMException).name).toBe("AbortError");
    held.release(true);
  });

  it("logs request and response with the request id", async () => {
    const { client, logs } = await start(async () => true);
    await probe(client, { metadata: withRequestId("abc-123") });
    const lines = logs().filter((line) => line.request_id === "abc-123");
    expect(lines.map((line) => line.message)).toEqual(["request", "response"]);
    expect(lines[1]).toMatchObject({ method: "Probe", code: "OK", level: "debug", component: "test" });
  });

  it("makes up a request id when the caller's is missing or unusable", async () => {
    const { client, logs } = await start(async () => true);
    await probe(client, { metadata: withRequestId("bad id with spaces") });
    const [line] = logs().filter((entry) => entry.message === "request");
    expect(line?.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("counts calls by method and code and records their duration", async () => {
    let fail = true;
    const { client, metrics } = await start(async () => {
      if (fail) throw new FailedPreconditionError("not yet");
      return true;
    });
    await rejection(probe(client));
    fail = false;
    await probe(client);
    await probe(client);
    const text = await metrics.metrics();
    expect(text).toContain('rds_csi_grpc_requests_total{service="csi.v1.Identity",method="Probe",code="FAILED_PRECONDITION"} 1');
    expect(text).toContain('rds_csi_grpc_requests_total{service="csi.v1.Identity",method="Probe",code="OK"} 2');
    expect(text).toContain('rds_csi_grpc_request_duration_seconds_count{service="csi.v1.Identity",method="Probe"} 3');
  });
});

describe("graceful shutdown", () => {
  it("lets an in-flight call finish within the grace period and refuses new connections", async () => {
    const held = heldProbe();
    const { server, client } = await start(held.probe);
    const inFlight = probe(client);
    await held.started;
    const stopped = server.shutdown(10_000);
    const late = new IdentityClient(`unix://${dir}/sub/dir/csi.sock`, credentials.createInsecure());
    cleanups.push(() => late.close());
    expect((await rejection(probe(late, { deadlineMs: 2000 }))).code).toBe(GrpcCode.UNAVAILABLE);
    held.release(true);
    expect(await inFlight).toEqual({ ready: true });
    await stopped;
  });

  it("cancels a call that outlives the grace period, firing its signal", async () => {
    const held = heldProbe();
    const { server, client } = await start(held.probe);
    const inFlight = rejection(probe(client, { deadlineMs: 30_000 }));
    const signal = await held.started;
    await server.shutdown(200);
    expect([GrpcCode.CANCELLED, GrpcCode.UNAVAILABLE, GrpcCode.INTERNAL]).toContain((await inFlight).code);
    await waitFor(() => signal.aborted);
    held.release(true);
  });
});

function withRequestId(id: string): Metadata {
  const metadata = new Metadata();
  metadata.set("x-request-id", id);
  return metadata;
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}
