import { createInterface } from "node:readline";
import type { KubeConnection } from "./kube-connection.js";
import { MAX_KUBE_RESPONSE_BYTES, parseStatus } from "./kube-request.js";

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

/** A watch that failed with an HTTP status or an ERROR event; 410 Gone means the informer must relist. */
export class WatchStatusError extends Error {
  override readonly name = "WatchStatusError";

  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** One event of a watch stream: ADDED, MODIFIED, DELETED or BOOKMARK, and the object. */
export interface WatchEvent {
  readonly type: string;
  readonly object: unknown;
}

/**
 * Opens watches; an informer's only way to hear of changes. `done` runs once per watch: null when the
 * server ended it cleanly, the error otherwise; never after the caller aborted the returned controller.
 */
export interface WatchTransport {
  watch(path: string, query: Readonly<Record<string, string | undefined>>, onEvent: (event: WatchEvent) => void, done: (err: Error | null) => void): AbortController;
}

/**
 * A watch with deadlines: every attempt ends, with the API server's status, a deadline, or the server
 * closing it. The connect deadline covers an API server that never answers; the idle deadline a
 * connection that silently stopped delivering bytes (bookmarks are asked for, so a healthy watch is
 * never quiet for long). An ERROR event ends the watch even when the server keeps the stream open.
 */
export class DeadlineWatch implements WatchTransport {
  readonly #connection: KubeConnection;
  readonly #deadlines: WatchDeadlines;
  readonly #maxEventBytes: number;

  /** `maxEventBytes`: the longest event line buffered; one object, so an API answer's limit by default. */
  constructor(connection: KubeConnection, deadlines: WatchDeadlines, maxEventBytes: number = MAX_KUBE_RESPONSE_BYTES) {
    this.#connection = connection;
    this.#deadlines = deadlines;
    this.#maxEventBytes = maxEventBytes;
  }

  watch(path: string, query: Readonly<Record<string, string | undefined>>, onEvent: (event: WatchEvent) => void, done: (err: Error | null) => void): AbortController {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (err: Error | null): void => {
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

    arm(this.#deadlines.connectTimeoutMs, `watch ${path}: no response within ${this.#deadlines.connectTimeoutMs} ms`);
    const fullQuery = { ...query, watch: "true", allowWatchBookmarks: "true", timeoutSeconds: String(this.#deadlines.serverTimeoutSeconds) };
    this.#connection.open({ method: "GET", path, query: fullQuery }, controller.signal).then(
      (request) => {
        request.on("error", settle);
        request.on("response", (response) => {
          // Aborting a watch (ours or the caller's) errors the response even after it ended; settle ignores a second outcome.
          response.on("error", settle);
          const code = response.statusCode ?? 0;
          if (code !== 200) {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () => {
              const detail = parseStatus(Buffer.concat(chunks).toString("utf8")).message;
              settle(new WatchStatusError(code, `watch ${path}: HTTP ${code}${detail ? ` (${detail})` : ""}`));
            });
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
              onEvent(event);
            }
          });
          lines.on("close", () => settle(null));
          // Heard after readline took the chunk: what follows its last newline is the line still buffered.
          let pending = 0;
          response.on("data", (chunk: Buffer) => {
            const newline = chunk.lastIndexOf(10);
            pending = newline < 0 ? pending + chunk.length : chunk.length - newline - 1;
            if (pending > this.#maxEventBytes) settle(new Error(`watch ${path}: an event exceeds ${this.#maxEventBytes} bytes`));
          });
        });
        request.end();
      },
      // Reading the token failed, or the caller aborted first.
      (err: unknown) => settle(err instanceof Error ? err : new Error(String(err))),
    );
    return controller;
  }
}

function parseEvent(line: string): WatchEvent | undefined {
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
