import http from "node:http";
import https from "node:https";
import { createInterface } from "node:readline";
import { Watch, type KubeConfig } from "@kubernetes/client-node";

export interface WatchDeadlines {
  /** The response headers must arrive within this, or the attempt fails. */
  readonly connectTimeoutMs: number;
  /** Asked of the API server (`timeoutSeconds`): it ends a quiet watch cleanly after this, and the informer resumes from its last resourceVersion. */
  readonly serverTimeoutSeconds: number;
  /**
   * No line (event or bookmark) for this long and the connection is presumed dead. Keep it above
   * `serverTimeoutSeconds`: a healthy quiet watch ends by itself first.
   */
  readonly idleTimeoutMs: number;
}

/** A watch that failed with an HTTP status; client-node's ListWatch reads `statusCode` (410 means relist). */
export class WatchStatusError extends Error {
  override readonly name = "WatchStatusError";

  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;
type DoneCallback = (err: unknown) => void;

/**
 * client-node's `Watch` with deadlines, handed to its ListWatch as the transport. The stock `Watch`
 * (1.4) sets a 30 s timeout signal and then overwrites it, so a connection that stops delivering
 * bytes, or an API server that never answers the request, keeps an informer waiting forever; and it
 * passes a watch `ERROR` event (410 Gone among them) to the callback while leaving the stream open.
 * Here every attempt ends: with the API server's status, a deadline, or the server closing it.
 *
 * `done` runs at most once per attempt and never after the caller aborted the returned controller:
 * ListWatch aborts it only while stopping or restarting, when a late `done` would only report an error
 * nobody asked for.
 */
export class DeadlineWatch extends Watch {
  readonly #deadlines: WatchDeadlines;

  constructor(kubeConfig: KubeConfig, deadlines: WatchDeadlines) {
    super(kubeConfig);
    this.#deadlines = deadlines;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback,
    done: DoneCallback,
  ): Promise<AbortController> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      controller.abort();
      done(err);
    };
    controller.signal.addEventListener("abort", () => {
      settled = true;
      clearTimeout(timer);
    });
    const arm = (ms: number, message: string): void => {
      clearTimeout(timer);
      timer = setTimeout(() => settle(new Error(message)), ms);
    };

    // Never rejects: ListWatch calls this from a callback without awaiting it, so a rejection (no
    // cluster, a failing credential plugin) would go unhandled instead of restarting the informer.
    let request: http.ClientRequest;
    try {
      const cluster = this.config.getCurrentCluster();
      if (!cluster) throw new Error("the kubeconfig has no current cluster");
      const url = new URL(cluster.server + path);
      for (const [key, value] of Object.entries(queryParams)) {
        if (value !== undefined) url.searchParams.set(key, String(value));
      }
      url.searchParams.set("watch", "true");
      url.searchParams.set("allowWatchBookmarks", "true");
      url.searchParams.set("timeoutSeconds", String(this.#deadlines.serverTimeoutSeconds));
      const options: https.RequestOptions = {};
      await this.config.applyToHTTPSOptions(options);
      const transport = url.protocol === "https:" ? https : http;
      request = transport.request(url, { ...options, method: "GET", signal: controller.signal });
    } catch (err) {
      // After returning, so ListWatch has stored the controller before it hears of the failure.
      setImmediate(() => settle(err));
      return controller;
    }
    arm(this.#deadlines.connectTimeoutMs, `watch ${path}: no response within ${this.#deadlines.connectTimeoutMs} ms`);
    request.on("error", settle);
    request.on("response", (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        settle(new WatchStatusError(response.statusCode ?? 0, `watch ${path}: HTTP ${response.statusCode}`));
        return;
      }
      const idle = `watch ${path}: nothing received for ${this.#deadlines.idleTimeoutMs} ms`;
      arm(this.#deadlines.idleTimeoutMs, idle);
      const lines = createInterface({ input: response, crlfDelay: Infinity });
      // readline re-emits the response's errors (an aborted response among them); unheard, they would throw.
      lines.on("error", settle);
      lines.on("line", (line) => {
        if (settled || line.trim() === "") return;
        arm(this.#deadlines.idleTimeoutMs, idle);
        const event = parseEvent(line);
        if (!event) {
          settle(new Error(`watch ${path}: undecodable event`));
        } else if (event.type === "ERROR") {
          const status = event.object as { code?: number; message?: string } | undefined;
          settle(new WatchStatusError(status?.code ?? 500, `watch ${path}: ${status?.message ?? "error event"}`));
        } else {
          callback(event.type, event.object, event);
        }
      });
      lines.on("close", () => settle(null));
    });
    request.end();
    return controller;
  }
}

function parseEvent(line: string): { type: string; object: unknown } | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === "object" && parsed !== null && "type" in parsed && typeof parsed.type === "string") {
      return { type: parsed.type, object: "object" in parsed ? parsed.object : undefined };
    }
  } catch {
    // reported below as undecodable
  }
  return undefined;
}
