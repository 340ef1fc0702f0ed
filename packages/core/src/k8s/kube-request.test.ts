import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiException, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { AbortedError, InternalError, NotFoundError, UnavailableError } from "../errors.js";
import { classifyKubeError, kubeRequest } from "./kube-request.js";

describe("classifyKubeError", () => {
  const api = (code: number, body?: unknown) => new ApiException<unknown>(code, "Unknown API Status Code!", body, { "set-cookie": "x" });

  it.each([
    [404, NotFoundError],
    [409, AbortedError],
    [401, InternalError],
    [403, InternalError],
    [429, UnavailableError],
    [500, UnavailableError],
    [503, UnavailableError],
    [400, InternalError],
    [422, InternalError],
  ])("HTTP %i becomes %p", (code, type) => {
    expect(classifyKubeError("read Node n1", api(code))).toBeInstanceOf(type);
  });

  it("quotes the Status message but never the raw exception, which carries response headers", () => {
    const err = classifyKubeError("read Node n1", api(404, JSON.stringify({ kind: "Status", message: 'nodes "n1" not found' })));
    expect(err.message).toBe('read Node n1: HTTP 404 (nodes "n1" not found)');
    expect(classifyKubeError("x", api(500, "<html>")).message).toBe("x: HTTP 500");
    expect(classifyKubeError("x", api(500, { message: "etcd timeout" })).message).toBe("x: HTTP 500 (etcd timeout)");
    expect(classifyKubeError("x", api(403)).message).toBe("x: HTTP 403: the API server refused the service account; check the chart's RBAC");
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
  let respond: (response: ServerResponse) => void;
  let api: CoreV1Api;

  beforeEach(async () => {
    server = createServer((_request, response) => respond(response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const kc = new KubeConfig();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    kc.loadFromOptions({
      clusters: [{ name: "c", server: url, skipTLSVerify: true }],
      users: [{ name: "u" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    api = kc.makeApiClient(CoreV1Api);
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const never = new AbortController().signal;

  it("returns the decoded object", async () => {
    respond = (response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: "n1" } }));
    };
    const node = await kubeRequest("read Node n1", never, (options) => api.readNode({ name: "n1" }, options));
    expect(node.metadata?.name).toBe("n1");
  });

  it("classifies an error status", async () => {
    respond = (response) => {
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ kind: "Status", code: 404, message: 'nodes "n1" not found' }));
    };
    const call = kubeRequest("read Node n1", never, (options) => api.readNode({ name: "n1" }, options));
    await expect(call).rejects.toBeInstanceOf(NotFoundError);
    await expect(call).rejects.toThrow('read Node n1: HTTP 404 (nodes "n1" not found)');
  });

  it("ends a call the API server never answers at the deadline, as unavailable", async () => {
    respond = () => undefined;
    const started = Date.now();
    const call = kubeRequest("read Node n1", never, (options) => api.readNode({ name: "n1" }, options), 100);
    await expect(call).rejects.toBeInstanceOf(UnavailableError);
    await expect(call).rejects.toThrow("read Node n1: the Kubernetes API server did not answer within 100 ms");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("passes the caller's cancellation through untouched, before and during the call", async () => {
    respond = () => undefined;
    const caller = new AbortController();
    const call = kubeRequest("read Node n1", caller.signal, (options) => api.readNode({ name: "n1" }, options));
    const reason = new Error("client went away");
    setTimeout(() => caller.abort(reason), 20);
    await expect(call).rejects.toBe(reason);
    await expect(kubeRequest("read Node n1", caller.signal, () => Promise.resolve(1))).rejects.toBe(reason);
  });
});
