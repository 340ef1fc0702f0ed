import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { UnavailableError } from "../errors.js";
import type { Logger } from "./logger.js";
import type { MetricsRegistry } from "./metrics.js";

export interface CheckResult {
  readonly ok: boolean;
  /** why the check failed; sent as the 503 body, so it must be safe to show */
  readonly detail?: string;
}

/** Gets a signal that fires when the answer is no longer wanted; pass it to any call the check makes. */
export type HealthCheck = (signal: AbortSignal) => Promise<CheckResult>;

export interface ObservabilityServerOptions {
  readonly host: string;
  /** 0 picks a free port; the chosen one is in the returned url */
  readonly port: number;
  readonly metrics: MetricsRegistry;
  /** live backs /healthz (restart me), ready backs /readyz (send me no work) */
  readonly checks: { readonly live: HealthCheck; readonly ready: HealthCheck };
  readonly logger: Logger;
  /** a check slower than this answers 503; keep it below the probe's timeoutSeconds. Default 5 s. */
  readonly checkTimeoutMs?: number;
}

export interface ObservabilityServer {
  /** e.g. http://127.0.0.1:9809 */
  readonly url: string;
  /** Stops accepting connections and resolves once open requests finished; calling it again is a no-op. */
  close(): Promise<void>;
}

/** The HTTP side of a service: GET /metrics, /healthz and /readyz. Resolves once listening. */
export async function startObservabilityServer(options: ObservabilityServerOptions): Promise<ObservabilityServer> {
  const checkTimeoutMs = options.checkTimeoutMs ?? 5_000;
  const server = createServer((request, response) => {
    void respond(request, response, options, checkTimeoutMs);
  });
  await listen(server, options.host, options.port);
  const address = server.address() as AddressInfo;
  const url = `http://${hostPort(address.address, address.port)}`;
  options.logger.info("observability server listening", { url });
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        // The only error close() reports is "not running", which is the state the caller wants.
        server.close(() => resolve());
      }),
  };
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      reject(new UnavailableError(`cannot serve /metrics and health checks on ${hostPort(host, port)}: ${err.message}`, { cause: err }));
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

const PATHS = new Set(["/metrics", "/healthz", "/readyz"]);

// Never rejects: every failure becomes a status code, so a broken check cannot crash the process.
async function respond(
  request: IncomingMessage,
  response: ServerResponse,
  options: ObservabilityServerOptions,
  checkTimeoutMs: number,
): Promise<void> {
  // http.Server always sets url (the type is shared with client responses). Split instead of
  // new URL(): a request target like "//" makes URL throw.
  const path = (request.url as string).split("?")[0] as string;
  if (!PATHS.has(path)) return sendText(response, 404, "not found");
  if (request.method !== "GET") {
    response.setHeader("Allow", "GET");
    return sendText(response, 405, "method not allowed");
  }
  if (path === "/metrics") return sendMetrics(response, options);
  const check = path === "/healthz" ? options.checks.live : options.checks.ready;
  const result = await runCheck(check, checkTimeoutMs, path, options.logger);
  sendText(response, result.ok ? 200 : 503, result.ok ? "ok" : (result.detail ?? "not ok"));
}

async function sendMetrics(response: ServerResponse, options: ObservabilityServerOptions): Promise<void> {
  try {
    const body = await options.metrics.metrics();
    response.writeHead(200, { "Content-Type": options.metrics.contentType }).end(body);
  } catch (error) {
    options.logger.error("collecting metrics failed", { error });
    sendText(response, 500, "collecting metrics failed");
  }
}

async function runCheck(check: HealthCheck, timeoutMs: number, path: string, logger: Logger): Promise<CheckResult> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => {
      const detail = `check timed out after ${timeoutMs}ms`;
      controller.abort(new Error(detail));
      logger.warn("health check timed out", { path, timeout_ms: timeoutMs });
      resolve({ ok: false, detail });
    }, timeoutMs);
  });
  try {
    return await Promise.race([check(controller.signal), timedOut]);
  } catch (error) {
    logger.warn("health check threw", { path, error });
    return { ok: false, detail: `check failed: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

function sendText(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(`${body}\n`);
}
