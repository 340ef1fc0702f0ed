import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AbortedError, AlreadyExistsError, ConflictError, InternalError, NotFoundError, UnavailableError } from "../errors.js";
import { KubeConnection } from "./kube-connection.js";
import { classifyKubeError, KubeStatusError, kubeRequest } from "./kube-request.js";

describe("classifyKubeError", () => {
  it.each([
    [404, NotFoundError],
    [409, AbortedError],
    [401, UnavailableError],
    [403, InternalError],
    [429, UnavailableError],
    [500, UnavailableError],
    [503, UnavailableError],
    [400, InternalError],
  ])("HTTP %i becomes %p", (code, type) => {
    expect(classifyKubeError("read Node n1", new KubeStatusError(code, undefined))).toBeInstanceOf(type);
  });

  it("tells the 409s and 422s apart by Status.reason and details", () => {
    expect(classifyKubeError("create VA", new KubeStatusError(409, "exists", { reason: "AlreadyExists" }))).toBeInstanceOf(AlreadyExistsError);
    expect(classifyKubeError("update VA", new KubeStatusError(409, "modified", { reason: "Conflict" }))).toBeInstanceOf(ConflictError);
    // a JSON patch that does not apply (failed test): no object was validated, details has no kind
    expect(classifyKubeError("patch VA", new KubeStatusError(422, "rejected", { reason: "Invalid" }))).toBeInstanceOf(ConflictError);
    const invalid = classifyKubeError("update VA", new KubeStatusError(422, "spec: field is immutable", { reason: "Invalid", detailsKind: "VolumeAttachment" }));
    expect(invalid).toBeInstanceOf(InternalError);
    expect(invalid).not.toBeInstanceOf(ConflictError);
  });

  it("quotes the Status message and tells what to check when the service account is refused", () => {
    expect(classifyKubeError("read Node n1", new KubeStatusError(404, 'nodes "n1" not found')).message).toBe('read Node n1: HTTP 404 (nodes "n1" not found)');
    expect(classifyKubeError("x", new KubeStatusError(500, undefined)).message).toBe("x: HTTP 500");
    expect(classifyKubeError("x", new KubeStatusError(403, undefined)).message).toBe("x: HTTP 403: the API server refused the service account; check the chart's RBAC");
    expect(classifyKubeError("x", new KubeStatusError(401, undefined)).message).toBe(
      "x: HTTP 401: the API server did not accept the credentials (expired or revoked token, or a kubeconfig for another cluster)",
    );
  });

  it("treats a failure without an HTTP answer as unavailable", () => {
    const err = classifyKubeError("list Pods", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toBe("list Pods: cannot reach the Kubernetes API server: connect ECONNREFUSED");
    expect(classifyKubeError("x", "weird")).toBeInstanceOf(UnavailableError);
  });
});

describe("kubeRequest against a real HTTP server", () => {
  let server: Server;
  let respond: (request: IncomingMessage, body: string, response: ServerResponse) => void;
  let connection: KubeConnection;

  beforeEach(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => respond(request, Buffer.concat(chunks).toString("utf8"), response));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    // A path prefix, as an API proxy has one, must be kept in front of every API path.
    connection = new KubeConnection({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}/proxy/`, token: () => Promise.resolve("secret") });
  });

  afterEach(async () => {
    connection.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const never = new AbortController().signal;

  it("sends the token, the query and a JSON body, and returns the decoded answer", async () => {
    let seen: { method?: string; url?: string; auth?: string; type?: string; body?: string } = {};
    respond = (request, body, response) => {
      seen = { method: request.method, url: request.url, auth: request.headers.authorization, type: request.headers["content-type"], body };
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ kind: "Node", metadata: { name: "n1" } }));
    };
    const node = await kubeRequest<{ metadata: { name: string } }>(
      connection,
      "patch Node n1",
      { method: "PATCH", path: "/api/v1/nodes/n1", query: { dryRun: "All", unset: undefined }, body: { a: 1 }, headers: { "content-type": "application/merge-patch+json" } },
      never,
    );
    expect(node.metadata.name).toBe("n1");
    expect(seen).toEqual({ method: "PATCH", url: "/proxy/api/v1/nodes/n1?dryRun=All", auth: "Bearer secret", type: "application/merge-patch+json", body: '{"a":1}' });
  });

  it("classifies an error status with the Status message, and ignores a body of another shape", async () => {
    respond = (_request, _body, response) => {
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ kind: "Status", code: 404, message: 'nodes "n1" not found' }));
    };
    const call = kubeRequest(connection, "read Node n1", { method: "GET", path: "/api/v1/nodes/n1" }, never);
    await expect(call).rejects.toBeInstanceOf(NotFoundError);
    await expect(call).rejects.toThrow('read Node n1: HTTP 404 (nodes "n1" not found)');

    respond = (_request, _body, response) => {
      response.writeHead(502, { "set-cookie": "session=x" });
      response.end("<html>bad gateway</html>");
    };
    const proxied = kubeRequest(connection, "read Node n1", { method: "GET", path: "/api/v1/nodes/n1" }, never);
    await expect(proxied).rejects.toBeInstanceOf(UnavailableError);
    await expect(proxied).rejects.toThrow(/^read Node n1: HTTP 502$/);
  });

  it("ends a call the API server never answers at the deadline, as unavailable", async () => {
    respond = () => undefined;
    const call = kubeRequest(connection, "read Node n1", { method: "GET", path: "/api/v1/nodes/n1" }, never, 100);
    await expect(call).rejects.toBeInstanceOf(UnavailableError);
    await expect(call).rejects.toThrow("read Node n1: the Kubernetes API server did not answer within 100 ms");
  });

  it("passes the caller's cancellation through untouched, before and during the call", async () => {
    respond = () => undefined;
    const caller = new AbortController();
    const call = kubeRequest(connection, "read Node n1", { method: "GET", path: "/api/v1/nodes/n1" }, caller.signal);
    const reason = new Error("client went away");
    setTimeout(() => caller.abort(reason), 20);
    await expect(call).rejects.toBe(reason);
    await expect(kubeRequest(connection, "read Node n1", { method: "GET", path: "/api/v1/nodes/n1" }, caller.signal)).rejects.toBe(reason);
  });

  it("stops reading an answer beyond its limit and says so, rather than buffering it", async () => {
    let sent = 0;
    respond = (_request, _body, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      // A runaway answer: it never ends, and a reader that kept buffering would run out of memory.
      const more = (): void => {
        let flowing = true;
        while (!response.destroyed && flowing) {
          flowing = response.write(Buffer.alloc(16 * 1024, 0x20));
          sent += 16 * 1024;
        }
        if (!response.destroyed) response.once("drain", more);
      };
      more();
    };
    const call = kubeRequest(connection, "list Pods", { method: "GET", path: "/api/v1/pods", maxResponseBytes: 256 * 1024 }, never);
    await expect(call).rejects.toBeInstanceOf(InternalError);
    await expect(call).rejects.toThrow("list Pods: the answer exceeds 262144 bytes");
    expect(sent).toBeGreaterThan(256 * 1024);
  });

  it("reports an API server that refuses connections as unavailable", async () => {
    const closed = new KubeConnection({ server: "http://127.0.0.1:1" });
    const call = kubeRequest(closed, "read Node n1", { method: "GET", path: "/api/v1/nodes/n1" }, never);
    await expect(call).rejects.toBeInstanceOf(UnavailableError);
    await expect(call).rejects.toThrow(/^read Node n1: cannot reach the Kubernetes API server: .*ECONNREFUSED/);
    closed.close();
  });
});
