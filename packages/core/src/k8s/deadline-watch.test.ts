import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DeadlineWatch, WatchStatusError } from "./deadline-watch.js";
import { KubeConnection } from "./kube-connection.js";

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A local HTTP server whose single route the test writes; each test sets `handle`. */
let server: Server;
let handle: Handler;
let requests: URL[];
let baseUrl: string;

beforeEach(async () => {
  requests = [];
  handle = (_request, response) => response.end();
  server = createServer((request, response) => {
    requests.push(new URL(request.url ?? "/", "http://localhost"));
    handle(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const connections: KubeConnection[] = [];
afterEach(() => connections.splice(0).forEach((connection) => connection.close()));

function connection(server: string, token: () => Promise<string> = () => Promise.resolve("secret-token")): KubeConnection {
  const made = new KubeConnection({ server, token });
  connections.push(made);
  return made;
}

const deadlines = { connectTimeoutMs: 1_000, serverTimeoutSeconds: 60, idleTimeoutMs: 1_000 };

/** Starts a watch and resolves with what `done` received, plus every event delivered before it. */
async function watchUntilDone(watch: DeadlineWatch, query: Record<string, string> = {}): Promise<{ err: unknown; events: [string, unknown][] }> {
  const events: [string, unknown][] = [];
  return new Promise((resolve) => {
    watch.watch("/api/v1/configmaps", query, ({ type, object }) => events.push([type, object]), (err) => resolve({ err, events }));
  });
}

describe("DeadlineWatch", () => {
  it("streams events with the caller's query, bookmarks and a server-side timeout, and ends cleanly when the server closes", async () => {
    handle = (request, response) => {
      expect(request.headers.authorization).toBe("Bearer secret-token");
      response.writeHead(200, { "content-type": "application/json" });
      response.write(`${JSON.stringify({ type: "ADDED", object: { metadata: { name: "a" } } })}\n\n`);
      response.end(`${JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "9" } } })}\n`);
    };
    const { err, events } = await watchUntilDone(new DeadlineWatch(connection(baseUrl), deadlines), { resourceVersion: "5", labelSelector: "x=y" });
    expect(err).toBeNull();
    expect(events).toEqual([
      ["ADDED", { metadata: { name: "a" } }],
      ["BOOKMARK", { metadata: { resourceVersion: "9" } }],
    ]);
    const query = Object.fromEntries(requests[0]!.searchParams);
    expect(query).toEqual({ resourceVersion: "5", labelSelector: "x=y", watch: "true", allowWatchBookmarks: "true", timeoutSeconds: "60" });
  });

  it("ends with the status of a watch ERROR event (410 Gone: the informer relists)", async () => {
    handle = (_request, response) => {
      response.writeHead(200);
      response.write(`${JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410, message: "too old resource version: 5 (9)" } })}\n`);
      // The real server may keep the stream open after the error; the watch must end anyway.
    };
    const { err } = await watchUntilDone(new DeadlineWatch(connection(baseUrl), deadlines));
    expect(err).toBeInstanceOf(WatchStatusError);
    expect((err as WatchStatusError).statusCode).toBe(410);
    expect((err as Error).message).toBe("watch /api/v1/configmaps: too old resource version: 5 (9)");
  });

  it("ends with the HTTP status of a refused watch and the Status message", async () => {
    handle = (_request, response) => {
      response.writeHead(403);
      response.end(JSON.stringify({ kind: "Status", code: 403, message: "forbidden: cannot watch configmaps" }));
    };
    const { err } = await watchUntilDone(new DeadlineWatch(connection(baseUrl), deadlines));
    expect((err as WatchStatusError).statusCode).toBe(403);
    expect((err as Error).message).toBe("watch /api/v1/configmaps: HTTP 403 (forbidden: cannot watch configmaps)");
  });

  it("gives up on a server that never answers, and on a stream that goes quiet", async () => {
    handle = () => undefined; // never answers
    const started = Date.now();
    const connect = await watchUntilDone(new DeadlineWatch(connection(baseUrl), { ...deadlines, connectTimeoutMs: 100 }));
    expect((connect.err as Error).message).toBe("watch /api/v1/configmaps: no response within 100 ms");
    expect(Date.now() - started).toBeLessThan(900);

    handle = (_request, response) => {
      response.writeHead(200);
      response.write(`${JSON.stringify({ type: "ADDED", object: {} })}\n`);
    };
    const quiet = await watchUntilDone(new DeadlineWatch(connection(baseUrl), { ...deadlines, idleTimeoutMs: 100 }));
    expect(quiet.events).toHaveLength(1);
    expect((quiet.err as Error).message).toBe("watch /api/v1/configmaps: nothing received for 100 ms");
  });

  it("ends on an undecodable event", async () => {
    handle = (_request, response) => {
      response.writeHead(200);
      response.write("not json\n");
    };
    const { err } = await watchUntilDone(new DeadlineWatch(connection(baseUrl), deadlines));
    expect((err as Error).message).toBe("watch /api/v1/configmaps: undecodable event");
  });

  it("ends on an event line beyond its limit instead of buffering it", async () => {
    handle = (_request, response) => {
      response.writeHead(200);
      response.write(`${JSON.stringify({ type: "ADDED", object: { x: "y".repeat(1_000) } })}\n`);
      // A runaway line: bytes keep coming, so the idle deadline never fires, and no newline ever ends it.
      const more = (): void => {
        while (!response.destroyed && response.write(Buffer.alloc(16 * 1024, 0x61)));
        if (!response.destroyed) response.once("drain", more);
      };
      more();
    };
    const { err, events } = await watchUntilDone(new DeadlineWatch(connection(baseUrl), deadlines, 64 * 1024));
    expect(events).toHaveLength(1);
    expect((err as Error).message).toBe("watch /api/v1/configmaps: an event exceeds 65536 bytes");
  });

  it("reports a connection failure and a token that cannot be read through done", async () => {
    const refused = await watchUntilDone(new DeadlineWatch(connection("http://127.0.0.1:1"), deadlines));
    expect((refused.err as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
    const noToken = await watchUntilDone(new DeadlineWatch(connection(baseUrl, () => Promise.reject(new Error("EACCES token"))), deadlines));
    expect((noToken.err as Error).message).toBe("EACCES token");
  });

  it("never calls done after the caller aborted the watch", async () => {
    handle = (_request, response) => {
      response.writeHead(200);
      response.write(`${JSON.stringify({ type: "ADDED", object: {} })}\n`);
    };
    let doneCalls = 0;
    const controller = new DeadlineWatch(connection(baseUrl), deadlines).watch("/api/v1/configmaps", {}, () => undefined, () => doneCalls++);
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(doneCalls).toBe(0);
  });
});
