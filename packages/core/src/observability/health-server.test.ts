import { connect, createServer } from "node:net";
import { Writable } from "node:stream";
import { UnavailableError } from "../errors.js";
import { startObservabilityServer, type CheckResult, type HealthCheck, type ObservabilityServer } from "./health-server.js";
import { createLogger } from "./logger.js";
import { MetricsRegistry } from "./metrics.js";

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ level: "debug", component: "test", stream }), lines };
}

const healthy: HealthCheck = async () => ({ ok: true });

describe("startObservabilityServer", () => {
  const servers: ObservabilityServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  async function start(
    checks: { live?: HealthCheck; ready?: HealthCheck } = {},
    extra: { metrics?: MetricsRegistry; checkTimeoutMs?: number; host?: string } = {},
  ) {
    const { logger, lines } = capturedLogger();
    const server = await startObservabilityServer({
      host: extra.host ?? "127.0.0.1",
      port: 0,
      metrics: extra.metrics ?? new MetricsRegistry(),
      checks: { live: checks.live ?? healthy, ready: checks.ready ?? healthy },
      logger,
      ...(extra.checkTimeoutMs !== undefined && { checkTimeoutMs: extra.checkTimeoutMs }),
    });
    servers.push(server);
    return { server, lines };
  }

  it("listens on the real port when given port 0 and says so in the log", async () => {
    const { server, lines } = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    expect(lines).toContainEqual(expect.objectContaining({ message: "observability server listening", url: server.url }));
  });

  it("brackets an IPv6 address in the url", async () => {
    const { server } = await start({}, { host: "::1" });
    expect(server.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("serves /metrics in the Prometheus text format", async () => {
    const metrics = new MetricsRegistry();
    metrics.counter({ name: "volume_creates_total", help: "creates" }).inc(2);
    const { server } = await start({}, { metrics });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(metrics.contentType);
    expect(await response.text()).toContain("rds_csi_volume_creates_total 2");
  });

  it("answers 500 and logs when collecting metrics fails", async () => {
    const metrics = new MetricsRegistry();
    metrics.gauge({
      name: "rds_pool_free_bytes",
      help: "free",
      collect() {
        throw new Error("ssh down");
      },
    });
    const { server, lines } = await start({}, { metrics });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe("collecting metrics failed\n");
    expect(lines).toContainEqual(
      expect.objectContaining({ level: "error", error: expect.objectContaining({ message: "ssh down" }) }),
    );
  });

  it("answers 200 ok on /healthz and /readyz when the checks pass, query string ignored", async () => {
    const { server } = await start();
    for (const path of ["/healthz", "/readyz", "/readyz?verbose=1"]) {
      const response = await fetch(`${server.url}${path}`);
      expect([path, response.status, await response.text()]).toEqual([path, 200, "ok\n"]);
    }
  });

  it("routes /healthz to the live check and /readyz to the ready check", async () => {
    const { server } = await start({
      live: async () => ({ ok: false, detail: "event loop stuck" }),
      ready: async () => ({ ok: false }),
    });
    const live = await fetch(`${server.url}/healthz`);
    expect([live.status, await live.text()]).toEqual([503, "event loop stuck\n"]);
    const ready = await fetch(`${server.url}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([503, "not ok\n"]);
  });

  it.each([
    ["an Error", new Error("rds unreachable"), "check failed: rds unreachable\n"],
    ["a string", "plain string", "check failed: plain string\n"],
  ])("answers 503 and logs when a check throws %s", async (_kind, thrown, body) => {
    const { server, lines } = await start({
      ready: async () => {
        throw thrown;
      },
    });
    const response = await fetch(`${server.url}/readyz`);
    expect([response.status, await response.text()]).toEqual([503, body]);
    expect(lines).toContainEqual(expect.objectContaining({ level: "warn", message: "health check threw", path: "/readyz" }));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("answers 503 when a check outlasts its bound, and aborts the check's signal", async () => {
    let seen: AbortSignal | undefined;
    const hang: HealthCheck = (signal) => {
      seen = signal;
      return new Promise<CheckResult>(() => undefined);
    };
    const { server, lines } = await start({ live: hang }, { checkTimeoutMs: 50 });
    const response = await fetch(`${server.url}/healthz`);
    expect([response.status, await response.text()]).toEqual([503, "check timed out after 50ms\n"]);
    expect(seen?.aborted).toBe(true);
    expect(lines).toContainEqual(expect.objectContaining({ level: "warn", message: "health check timed out", path: "/healthz" }));
  });

  it("answers 404 for other paths and 405 with Allow: GET for other methods", async () => {
    const { server } = await start();
    const missing = await fetch(`${server.url}/metrics/extra`);
    expect([missing.status, await missing.text()]).toEqual([404, "not found\n"]);
    for (const method of ["POST", "DELETE", "HEAD"]) {
      const response = await fetch(`${server.url}/healthz`, { method });
      expect([method, response.status, response.headers.get("allow")]).toEqual([method, 405, "GET"]);
    }
  });

  it("answers 404 to a request target that is not a URL path, without crashing", async () => {
    const { server } = await start();
    const { hostname, port } = new URL(server.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.end("GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    expect(reply.startsWith("HTTP/1.1 404 ")).toBe(true);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("rejects with an UnavailableError naming host:port when the port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    const port = typeof address === "object" && address !== null ? address.port : -1;
    try {
      const attempt = startObservabilityServer({
        host: "127.0.0.1",
        port,
        metrics: new MetricsRegistry(),
        checks: { live: healthy, ready: healthy },
        logger: capturedLogger().logger,
      });
      await expect(attempt).rejects.toThrow(UnavailableError);
      await expect(attempt).rejects.toThrow(`cannot serve /metrics and health checks on 127.0.0.1:${port}: `);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("stops serving on close, and a second close is harmless", async () => {
    const { server } = await start();
    await server.close();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    await server.close();
  });
});
