import { mkdtempSync, rmSync } from "node:fs";
import { constants, connect as http2Connect, createServer as createHttp2Server, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerOptions as Http2ServerOptions } from "node:http2";
import { connect as netConnect, createServer as createNetServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duplex } from "node:stream";
import hpack from "hpack.js";
import { AuthorityRewriter, FALLBACK_AUTHORITY, isAcceptableAuthority, normalizeAuthority } from "./authority-normalizer.js";
import { CLIENT_PREFACE, FrameFlag, FrameType, Http2FrameReader, Http2FramingError, frameHeader, type Http2Frame } from "./http2-frame-reader.js";

const LONG_PATH = `/var/lib/kubelet/plugins/${"rds.csi.example.com/".repeat(100)}csi.sock`;

// ---------------------------------------------------------------------------------------------
// A raw Node http2 server (nghttp2, as under grpc-js) fed through a net.Server we own, the way
// grpc-js's connection injector does it: `http2Server.emit("connection", duplex)`.

interface SeenRequest {
  readonly authority: string | undefined;
  readonly path: string | undefined;
  readonly requestId: string | undefined;
  readonly big: number | undefined;
}

interface TestServer {
  readonly path: string;
  readonly seen: SeenRequest[];
  /** Errors the injected duplexes reported (the normalizer's, when it refuses a stream). */
  readonly errors: Error[];
  close(): Promise<void>;
}

interface ServerOptions {
  readonly normalize: boolean;
  /** Splits every chunk the socket reads into 1-byte chunks before the normalizer sees it. */
  readonly oneByteAtATime?: boolean;
  readonly http2?: Http2ServerOptions;
}

let dir: string;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rds-csi-authority-"));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let socketCount = 0;

async function startServer(options: ServerOptions): Promise<TestServer> {
  const path = join(dir, `csi-${++socketCount}.sock`);
  const seen: SeenRequest[] = [];
  const errors: Error[] = [];
  const http2Server = createHttp2Server(options.http2 ?? {});
  http2Server.on("stream", (stream, headers: IncomingHttpHeaders) => {
    const big = headers["x-big"];
    const request: SeenRequest = {
      authority: headers[":authority"],
      path: headers[":path"],
      requestId: single(headers["x-request-id"]),
      big: typeof big === "string" ? big.length : undefined,
    };
    seen.push(request);
    stream.respond({ ":status": 200 });
    stream.end(JSON.stringify(request));
  });
  const sockets = new Set<Socket>();
  const listener: Server = createNetServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    const upstream = options.oneByteAtATime ? oneByteAtATime(socket) : socket;
    const connection = options.normalize ? normalizeAuthority(upstream) : upstream;
    connection.on("error", (err: Error) => errors.push(err));
    http2Server.emit("connection", connection);
  });
  await new Promise<void>((resolve) => listener.listen(path, resolve));
  const server: TestServer = {
    path,
    seen,
    errors,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
  cleanups.push(() => server.close());
  return server;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}

/** A duplex over `socket` whose reads come one byte at a time, to split every frame everywhere. */
function oneByteAtATime(socket: Socket): Duplex {
  const dribble = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  socket.on("data", (chunk: Buffer) => {
    for (const byte of chunk) dribble.push(Buffer.of(byte));
  });
  socket.on("end", () => dribble.push(null));
  socket.on("error", (err) => dribble.destroy(err));
  socket.on("close", () => dribble.destroy());
  return dribble;
}

function connectClient(path: string): ClientHttp2Session {
  const client = http2Connect("http://localhost", { createConnection: () => netConnect(path) });
  client.on("error", () => {});
  cleanups.push(() => {
    client.destroy();
  });
  return client;
}

interface Response {
  readonly status: number | undefined;
  readonly rstCode: number | undefined;
  readonly body: string;
}

function request(client: ClientHttp2Session, headers: OutgoingHttpHeaders): Promise<Response> {
  return new Promise((resolve) => {
    const req = client.request({ ":method": "POST", ":path": "/csi.v1.Identity/Probe", ...headers });
    let status: number | undefined;
    let body = "";
    req.setEncoding("utf8");
    req.on("response", (responseHeaders) => {
      status = responseHeaders[":status"];
    });
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("error", () => {});
    req.on("close", () => resolve({ status, rstCode: req.rstCode, body }));
    req.end();
  });
}

function parseSeen(response: Response): SeenRequest {
  return JSON.parse(response.body) as SeenRequest;
}

// ---------------------------------------------------------------------------------------------

describe("isAcceptableAuthority", () => {
  it.each(["localhost", "host:50051", "[::1]:50051", "127.0.0.1:1", "%2Fcsi.sock", "a-b_c~d.e"])("accepts %j", (value) => {
    expect(isAcceptableAuthority(value)).toBe(true);
  });

  it.each(["", "/csi/csi.sock", "unix:///csi/csi.sock", "a b", "user@host", "host/path", "h\u00e9"])("refuses %j", (value) => {
    expect(isAcceptableAuthority(value)).toBe(false);
  });
});

describe("Http2FrameReader", () => {
  const frames = Buffer.concat([
    CLIENT_PREFACE,
    frameHeader(6, 0x4, 0, 0),
    Buffer.from([0, 3, 0, 0, 0, 100]),
    frameHeader(0, 0x4, 0x1, 0),
    frameHeader(3, 0x0, 0x1, 7),
    Buffer.from("abc"),
  ]);

  function describeUnits(units: ReturnType<Http2FrameReader["push"]>): string[] {
    return units.map((unit) => (unit.kind === "preface" ? "preface" : `${unit.type}/${unit.flags}/${unit.streamId}/${unit.payload.toString("hex")}`));
  }

  it("yields the same preface and frames however the bytes are chunked", () => {
    const whole = describeUnits(new Http2FrameReader().push(frames));
    expect(whole).toEqual(["preface", "4/0/0/000300000064", "4/1/0/", "0/1/7/616263"]);
    for (const size of [1, 2, 5, 9, 10, 23, 25]) {
      const reader = new Http2FrameReader();
      const units = [];
      for (let at = 0; at < frames.length; at += size) units.push(...reader.push(frames.subarray(at, at + size)));
      expect(describeUnits(units)).toEqual(whole);
    }
  });

  it("refuses a stream that does not start with the client preface, at its first wrong byte", () => {
    const reader = new Http2FrameReader();
    expect(reader.push(Buffer.from("PRI * "))).toEqual([]);
    expect(() => reader.push(Buffer.from("HTTP/1.1"))).toThrow(Http2FramingError);
  });
});

describe("AuthorityRewriter", () => {
  const clientEncoder = () => hpack.compressor.create({ table: { maxSize: 4096 } });

  function encode(encoder: hpack.Compressor, headers: Record<string, string>): Buffer {
    encoder.write(Object.entries(headers).map(([name, value]) => ({ name, value })));
    return encoder.read() ?? Buffer.alloc(0);
  }

  /** Parses the rewriter's output as the server would: whole frames, header blocks decoded. */
  function serverView(output: Buffer[]): { frames: Http2Frame[]; blocks: Record<string, string>[] } {
    const units = new Http2FrameReader().push(Buffer.concat(output));
    const frames = units.filter((unit): unit is Http2Frame => unit.kind === "frame");
    const decoder = hpack.decompressor.create({ table: { maxSize: 4096 } });
    const blocks: Record<string, string>[] = [];
    let fragments: Buffer[] = [];
    for (const frame of frames) {
      if (frame.type !== FrameType.HEADERS && frame.type !== FrameType.CONTINUATION) continue;
      const priority = frame.type === FrameType.HEADERS && (frame.flags & FrameFlag.PRIORITY) !== 0 ? 5 : 0;
      fragments.push(frame.payload.subarray(priority));
      if ((frame.flags & FrameFlag.END_HEADERS) === 0) continue;
      decoder.write(Buffer.concat(fragments));
      decoder.execute();
      const block: Record<string, string> = {};
      for (let header = decoder.read(); header !== null; header = decoder.read()) block[header.name] = header.value;
      blocks.push(block);
      fragments = [];
    }
    return { frames, blocks };
  }

  it("keeps the stream id, END_STREAM and PRIORITY of a HEADERS frame and drops its padding", () => {
    const block = encode(clientEncoder(), { ":method": "POST", ":path": "/p", ":authority": "/csi/csi.sock", "x-request-id": "r1" });
    const priority = Buffer.from([0x80, 0, 0, 3, 42]);
    const padding = Buffer.alloc(7);
    const payload = Buffer.concat([Buffer.of(padding.length), priority, block, padding]);
    const flags = FrameFlag.PADDED | FrameFlag.PRIORITY | FrameFlag.END_STREAM | FrameFlag.END_HEADERS;
    const ping = Buffer.concat([frameHeader(8, 0x6, 0, 0), Buffer.from("pingpong")]);
    const input = Buffer.concat([CLIENT_PREFACE, frameHeader(payload.length, FrameType.HEADERS, flags, 5), payload, ping]);

    const output = new AuthorityRewriter().push(input);

    expect(Buffer.concat(output).subarray(0, CLIENT_PREFACE.length)).toEqual(CLIENT_PREFACE);
    expect(Buffer.concat(output).subarray(-ping.length)).toEqual(ping);
    const { frames, blocks } = serverView(output);
    const headers = frames[0] as Http2Frame;
    expect([headers.type, headers.streamId, headers.flags]).toEqual([
      FrameType.HEADERS,
      5,
      FrameFlag.PRIORITY | FrameFlag.END_STREAM | FrameFlag.END_HEADERS,
    ]);
    expect(headers.payload.subarray(0, 5)).toEqual(priority);
    expect(blocks).toEqual([{ ":method": "POST", ":path": "/p", ":authority": FALLBACK_AUTHORITY, "x-request-id": "r1" }]);
  });

  it("decodes a block split across CONTINUATION frames and re-encodes it", () => {
    const block = encode(clientEncoder(), { ":method": "POST", ":path": "/p", ":authority": "", "x-big": "v".repeat(40_000) });
    const input: Buffer[] = [CLIENT_PREFACE, frameHeader(10, FrameType.HEADERS, 0, 1), block.subarray(0, 10)];
    input.push(frameHeader(block.length - 10, FrameType.CONTINUATION, FrameFlag.END_HEADERS, 1), block.subarray(10));

    const { frames, blocks } = serverView(new AuthorityRewriter().push(Buffer.concat(input)));

    expect(frames.map((frame) => frame.type)).toEqual([FrameType.HEADERS, FrameType.CONTINUATION, FrameType.CONTINUATION]);
    expect(frames.every((frame) => frame.payload.length <= 16_384)).toBe(true);
    expect(blocks).toEqual([{ ":method": "POST", ":path": "/p", ":authority": FALLBACK_AUTHORITY, "x-big": "v".repeat(40_000) }]);
  });

  it("produces the same bytes whether the client's bytes arrive whole or one at a time", () => {
    const encoder = clientEncoder();
    const input: Buffer[] = [CLIENT_PREFACE];
    for (let stream = 1; stream < 20; stream += 2) {
      const block = encode(encoder, { ":method": "POST", ":path": `/p${stream}`, ":authority": "/csi.sock", "x-request-id": `r${stream}` });
      input.push(frameHeader(block.length, FrameType.HEADERS, FrameFlag.END_HEADERS, stream), block);
      input.push(frameHeader(5, 0x0, FrameFlag.END_STREAM, stream), Buffer.from("hello"));
    }
    const bytes = Buffer.concat(input);
    const whole = new AuthorityRewriter().push(bytes);
    const rewriter = new AuthorityRewriter();
    const dribbled = [...bytes].flatMap((byte) => rewriter.push(Buffer.of(byte)));

    expect(Buffer.concat(dribbled)).toEqual(Buffer.concat(whole));
    expect(serverView(whole).blocks.map((block) => [block[":path"], block["x-request-id"], block[":authority"]])).toEqual(
      Array.from({ length: 10 }, (_, i) => [`/p${2 * i + 1}`, `r${2 * i + 1}`, FALLBACK_AUTHORITY]),
    );
  });

  it("re-encodes names and values that are also Object.prototype keys", () => {
    // Built by hand: hpack.js's own encoder trips over these, which is what the rewriter avoids.
    const literal = (name: string, value: string) => Buffer.concat([Buffer.of(0x40, name.length), Buffer.from(name), Buffer.of(value.length), Buffer.from(value)]);
    const headers = { ":method": "POST", ":path": "/__proto__", constructor: "__proto__", "user-agent": "constructor", "content-type": "constructor" };
    const block = Buffer.concat(Object.entries(headers).map(([name, value]) => literal(name, value)));
    const input = Buffer.concat([CLIENT_PREFACE, frameHeader(block.length, FrameType.HEADERS, FrameFlag.END_HEADERS, 1), block]);

    expect(serverView(new AuthorityRewriter().push(input)).blocks).toEqual([headers]);
  });

  it.each([
    ["CONTINUATION without HEADERS", [frameHeader(1, FrameType.CONTINUATION, FrameFlag.END_HEADERS, 1), Buffer.of(0x82)]],
    ["a frame inside a header block", [frameHeader(1, FrameType.HEADERS, 0, 1), Buffer.of(0x82), frameHeader(0, 0x4, 0, 0)]],
    ["a CONTINUATION of another stream", [frameHeader(1, FrameType.HEADERS, 0, 1), Buffer.of(0x82), frameHeader(1, FrameType.CONTINUATION, FrameFlag.END_HEADERS, 3), Buffer.of(0x84)]],
    ["an undecodable header block", [frameHeader(1, FrameType.HEADERS, FrameFlag.END_HEADERS, 1), Buffer.of(0xbf)]],
    ["padding longer than the frame", [frameHeader(2, FrameType.HEADERS, FrameFlag.END_HEADERS | FrameFlag.PADDED, 1), Buffer.of(9, 0x82)]],
  ])("refuses %s", (_name, frames) => {
    expect(() => new AuthorityRewriter().push(Buffer.concat([CLIENT_PREFACE, ...frames]))).toThrow(Http2FramingError);
  });
});

describe("normalizeAuthority in front of a Node http2 server", () => {
  it("is needed: without it nghttp2 resets a stream whose :authority is a socket path or empty", async () => {
    const server = await startServer({ normalize: false });
    const client = connectClient(server.path);

    const valid = await request(client, { ":authority": "localhost" });
    expect(valid.status).toBe(200);
    for (const authority of ["/csi/csi.sock", ""]) {
      const refused = await request(connectClient(server.path), { ":authority": authority });
      expect(refused).toMatchObject({ status: undefined, rstCode: constants.NGHTTP2_PROTOCOL_ERROR });
    }
    expect(server.seen.map((seen) => seen.authority)).toEqual(["localhost"]);
  });

  it("refuses exactly the authorities nghttp2 refuses", async () => {
    const server = await startServer({ normalize: false });
    const values = ["localhost", "[::1]:50051", "%2Fcsi.sock", "!$&'()*+,;=~_-.", "/csi/csi.sock", "", "a b", "x?y", "a#b", "{x}", "a\\b", "h\u00e9"];

    const served = await Promise.all(values.map(async (authority) => (await request(connectClient(server.path), { ":authority": authority })).status === 200));

    expect(served).toEqual(values.map(isAcceptableAuthority));
  });

  it.each([
    ["/csi/csi.sock", FALLBACK_AUTHORITY],
    ["", FALLBACK_AUTHORITY],
    [LONG_PATH, FALLBACK_AUTHORITY],
    ["unix:///var/lib/kubelet/plugins/rds/csi.sock", FALLBACK_AUTHORITY],
    ["localhost", "localhost"],
    ["%2Fcsi.sock", "%2Fcsi.sock"],
    ["csi-controller:50051", "csi-controller:50051"],
    ["[::1]:50051", "[::1]:50051"],
  ])("serves :authority %j as %j", async (authority, expected) => {
    const server = await startServer({ normalize: true });
    const client = connectClient(server.path);

    const response = await request(client, { ":authority": authority, "x-request-id": "one" });

    expect(response.status).toBe(200);
    expect(parseSeen(response)).toMatchObject({ authority: expected, requestId: "one" });
    expect(server.errors).toEqual([]);
  });

  it("keeps the header tables in step over many requests on one connection", async () => {
    const server = await startServer({ normalize: true });
    const client = connectClient(server.path);
    const authorities = ["/csi/csi.sock", "", "localhost", LONG_PATH, "[::1]:50051"];

    for (let batch = 0; batch < 5; batch++) {
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, i) => {
          const n = batch * 40 + i;
          const authority = authorities[n % authorities.length] as string;
          return request(client, { ":authority": authority, ":path": `/csi.v1.Node/Call${n % 7}`, "x-request-id": `req-${n}` }).then((response) => ({ n, authority, response }));
        }),
      );
      for (const { n, authority, response } of responses) {
        expect(response.status).toBe(200);
        expect(parseSeen(response)).toEqual({
          authority: isAcceptableAuthority(authority) ? authority : FALLBACK_AUTHORITY,
          path: `/csi.v1.Node/Call${n % 7}`,
          requestId: `req-${n}`,
        });
      }
    }
    expect(server.seen).toHaveLength(200);
  });

  it("re-emits a header block too large for one frame as HEADERS and CONTINUATION frames", async () => {
    const server = await startServer({ normalize: true, http2: { settings: { maxHeaderListSize: 1024 * 1024 } } });
    const client = connectClient(server.path);
    const big = "k".repeat(40 * 1024);

    const first = await request(client, { ":authority": "/csi/csi.sock", "x-big": big, "x-request-id": "big-1" });
    const second = await request(client, { ":authority": "/csi/csi.sock", "x-big": big, "x-request-id": "big-2" });
    const after = await request(client, { ":authority": "", "x-request-id": "after" });

    expect([first.status, second.status, after.status]).toEqual([200, 200, 200]);
    expect(parseSeen(first)).toMatchObject({ authority: FALLBACK_AUTHORITY, requestId: "big-1", big: big.length });
    expect(parseSeen(second)).toMatchObject({ authority: FALLBACK_AUTHORITY, requestId: "big-2", big: big.length });
    expect(parseSeen(after)).toMatchObject({ authority: FALLBACK_AUTHORITY, requestId: "after" });
  });

  it("follows a connection whose bytes arrive one at a time", async () => {
    const server = await startServer({ normalize: true, oneByteAtATime: true });
    const client = connectClient(server.path);

    for (let n = 0; n < 10; n++) {
      const authority = n % 2 === 0 ? "/csi/csi.sock" : "localhost";
      const response = await request(client, { ":authority": authority, ":path": `/p/${n}`, "x-request-id": `drip-${n}` });
      expect(response.status).toBe(200);
      expect(parseSeen(response)).toEqual({ authority: n % 2 === 0 ? FALLBACK_AUTHORITY : "localhost", path: `/p/${n}`, requestId: `drip-${n}` });
    }
  });

  it("destroys a connection that does not start with the HTTP/2 client preface", async () => {
    const server = await startServer({ normalize: true });
    const socket = netConnect(server.path);
    socket.on("error", () => {});
    socket.resume();

    socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await new Promise((resolve) => socket.once("close", resolve));

    expect(server.errors).toHaveLength(1);
    expect(server.errors[0]).toBeInstanceOf(Http2FramingError);
    expect(server.seen).toEqual([]);
  });
});

describe("normalizeAuthority's duplex", () => {
  function fakeSocket(): Duplex & { written: Buffer[] } {
    const written: Buffer[] = [];
    const socket = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        written.push(chunk);
        callback();
      },
    });
    return Object.assign(socket, { written });
  }

  it("passes writes through to the socket untouched", async () => {
    const socket = fakeSocket();
    const normalized = normalizeAuthority(socket);

    await new Promise<void>((resolve, reject) => normalized.write(Buffer.from("server bytes"), (err) => (err ? reject(err) : resolve())));

    expect(Buffer.concat(socket.written).toString()).toBe("server bytes");
  });

  it("destroys the socket when it is destroyed, and the other way round", async () => {
    const socket = fakeSocket();
    const normalized = normalizeAuthority(socket);
    normalized.destroy();
    await new Promise((resolve) => socket.once("close", resolve));
    expect(socket.destroyed).toBe(true);

    const other = fakeSocket();
    const otherNormalized = normalizeAuthority(other);
    other.destroy();
    await new Promise((resolve) => otherNormalized.once("close", resolve));
    expect(otherNormalized.destroyed).toBe(true);
  });

  it("destroys both with an error on a malformed stream", async () => {
    const socket = fakeSocket();
    const normalized = normalizeAuthority(socket);
    const failed = new Promise<Error>((resolve) => normalized.once("error", resolve));

    socket.push(Buffer.from("\x16\x03\x01 not http/2"));

    expect(await failed).toBeInstanceOf(Http2FramingError);
    expect(socket.destroyed).toBe(true);
  });

  it("passes a request's body on as a view of the socket's chunk, not a copy", async () => {
    const socket = fakeSocket();
    const normalized = normalizeAuthority(socket);
    const received: Buffer[] = [];
    normalized.on("data", (chunk: Buffer) => received.push(chunk));
    socket.push(CLIENT_PREFACE);
    await new Promise((resolve) => setImmediate(resolve));
    received.length = 0;

    // Three DATA frames of one stream (type 0x0), as a large request's body arrives in one socket read.
    const payload = Buffer.alloc(16_384, 0x61);
    const chunk = Buffer.concat([0, 1, 2].flatMap(() => [frameHeader(payload.length, 0x0, 0, 1), payload]));
    socket.push(chunk);
    await new Promise((resolve) => setImmediate(resolve));

    expect(Buffer.concat(received)).toEqual(chunk);
    expect(received.every((piece) => piece.buffer === chunk.buffer)).toBe(true);
  });

  it("ends its readable side when the client ends", async () => {
    const socket = fakeSocket();
    const normalized = normalizeAuthority(socket);
    const received: Buffer[] = [];
    normalized.on("data", (chunk: Buffer) => received.push(chunk));
    const ended = new Promise((resolve) => normalized.once("end", resolve));

    socket.push(CLIENT_PREFACE);
    socket.push(null);
    await ended;

    expect(Buffer.concat(received)).toEqual(CLIENT_PREFACE);
  });
});
