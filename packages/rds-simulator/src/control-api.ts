import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "winston";
import type { CommandLogEntry } from "./command-log.js";
import { ExportConnectionRefused, type ExportWithConnections, type RefusalReason } from "./export-registry.js";
import { InvalidFaultError, type CommandMatch, type FaultInjector } from "./fault-injector.js";
import { InvalidSettingError, type SettingsPatch, type SimulatorSettings } from "./settings.js";
import type { DiskView, RestartOptions } from "./simulator.js";

/** What the control API reads and drives; the simulator provides it. */
export interface ControlSurface {
  readonly port: number;
  readonly hostKeyFingerprint: string;
  readonly settings: SimulatorSettings;
  readonly faults: FaultInjector;
  updateSettings(patch: SettingsPatch): Promise<SimulatorSettings>;
  commandLog(): readonly CommandLogEntry[];
  clearCommandLog(): void;
  disks(): readonly DiskView[];
  exports(): readonly ExportWithConnections[];
  connectHost(nqn: string, hostNqn: string): void;
  disconnectHost(nqn: string, hostNqn: string): void;
  changeHostKey(): Promise<string>;
  restart(options: RestartOptions): Promise<void>;
}

/** HTTP status of each reason the RDS refuses an NVMe/TCP connection. */
const REFUSAL_STATUS: Readonly<Record<RefusalReason, number>> = {
  "no-such-export": 404,
  "host-not-allowed": 403,
  unavailable: 503,
};

/** A request the API cannot use; answered with 400 and the message. */
class BadRequest extends Error {
  override readonly name = "BadRequest";
}

type Body = Readonly<Record<string, unknown>>;
type Route = (body: Body) => unknown;

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * JSON over HTTP on 127.0.0.1, for tests in other processes, the demo and benchmarks: inspect the
 * simulated RDS, change settings, inject faults. Endpoints are listed in the package README.
 */
export class ControlApi {
  readonly #server: Server;
  readonly #routes: ReadonlyMap<string, Route>;
  readonly #logger: Logger;

  private constructor(target: ControlSurface, logger: Logger) {
    this.#logger = logger;
    this.#routes = routes(target);
    this.#server = createServer((request, response) => void this.#handle(request, response));
  }

  static async start(port: number, target: ControlSurface, logger: Logger): Promise<ControlApi> {
    const api = new ControlApi(target, logger);
    await new Promise<void>((resolve, reject) => {
      api.#server.once("error", reject);
      api.#server.listen(port, "127.0.0.1", () => {
        api.#server.off("error", reject);
        resolve();
      });
    });
    return api;
  }

  get port(): number {
    const address = this.#server.address();
    return address !== null && typeof address === "object" ? address.port : 0;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    const route = this.#routes.get(`${request.method} ${path}`);
    try {
      if (route === undefined) {
        reply(response, 404, { error: `no endpoint ${request.method} ${path}` });
        return;
      }
      const result = await route(await readBody(request));
      if (result === undefined) reply(response, 204, undefined);
      else reply(response, 200, result);
    } catch (err) {
      if (err instanceof BadRequest || err instanceof InvalidFaultError || err instanceof InvalidSettingError) {
        reply(response, 400, { error: err.message });
      } else if (err instanceof ExportConnectionRefused) {
        reply(response, REFUSAL_STATUS[err.reason], { error: err.message, reason: err.reason });
      } else {
        this.#logger.error("control API request failed", { path, error: err });
        reply(response, 500, { error: "internal error; see the simulator's log" });
      }
    }
  }
}

function routes(target: ControlSurface): Map<string, Route> {
  return new Map<string, Route>([
    ["GET /status", () => ({ port: target.port, hostKeyFingerprint: target.hostKeyFingerprint, settings: target.settings, faults: target.faults.state() })],
    ["GET /disks", () => target.disks()],
    ["GET /exports", () => target.exports()],
    ["GET /command-log", () => target.commandLog()],
    ["DELETE /command-log", () => target.clearCommandLog()],
    ["PATCH /settings", (body) => target.updateSettings(body as SettingsPatch)],
    ["GET /faults", () => target.faults.state()],
    ["POST /faults/delay", (body) => target.faults.setDelay({ read: body.read as number, mutate: body.mutate as number })],
    [
      "POST /faults/drop-connection",
      (body) =>
        target.faults.dropConnection({ when: body.when as "before" | "after", count: body.count as number, match: body.match as CommandMatch }),
    ],
    [
      "POST /faults/error-reply",
      (body) => target.faults.errorReply({ text: body.text as string, count: body.count as number, match: body.match as CommandMatch }),
    ],
    ["POST /faults/disk-full", (body) => target.faults.setDiskFull(enabled(body))],
    ["POST /faults/auth-failure", (body) => target.faults.setAuthFailure(enabled(body))],
    ["POST /faults/host-key-change", async () => ({ hostKeyFingerprint: await target.changeHostKey() })],
    ["POST /faults/restart", (body) => target.restart({ refuseConnectionsMs: body.refuseConnectionsMs as number })],
    ["POST /faults/reset", () => target.faults.reset()],
    ["POST /exports/connect", (body) => connectExport(target, body)],
    ["POST /exports/disconnect", (body) => target.disconnectHost(text(body, "nqn"), text(body, "hostNqn"))],
  ]);
}

/**
 * The NVMe/TCP connect of the fake fabric: records the host's connection (or throws
 * ExportConnectionRefused, answered 404/403/503) and says which file holds the namespace and how big it is.
 */
async function connectExport(target: ControlSurface, body: Body): Promise<{ backingFile: string; size: number; port: number }> {
  const nqn = text(body, "nqn");
  const hostNqn = text(body, "hostNqn");
  target.connectHost(nqn, hostNqn);
  const entry = target.exports().find((candidate) => candidate.nqn === nqn);
  if (entry === undefined) throw new ExportConnectionRefused("no-such-export", `no NVMe/TCP export with NQN ${nqn}`);
  const { size } = await stat(entry.backingFile);
  return { backingFile: entry.backingFile, size, port: entry.port };
}

function text(body: Body, field: string): string {
  const value = body[field];
  if (typeof value !== "string" || value === "") throw new BadRequest(`${field} must be a non-empty string`);
  return value;
}

function enabled(body: Body): boolean {
  if (typeof body.enabled !== "boolean") throw new BadRequest("enabled must be true or false");
  return body.enabled;
}

async function readBody(request: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequest("body larger than 1 MiB");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BadRequest("body is not JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new BadRequest("body must be a JSON object");
  return json as Body;
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  if (body === undefined) {
    response.writeHead(status).end();
    return;
  }
  response.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
}
