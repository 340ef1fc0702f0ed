import { request as httpRequest } from "node:http";

/** Why the (simulated) target refused a connection; nvme-cli cannot tell these apart, its log can. */
export class TargetRefused extends Error {
  override readonly name = "TargetRefused";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface TargetNamespace {
  readonly backingFile: string;
  readonly size: number;
  readonly port: number;
}

interface ExportEntry {
  readonly nqn: string;
  readonly port: number;
}

const REQUEST_TIMEOUT_MS = 10_000;

/** The RDS simulator's NVMe/TCP side, reached through its control API (`FAKE_NVME_SIMULATOR_URL`). */
export class SimulatorLink {
  constructor(readonly baseUrl: string) {}

  /** Connects `hostNqn` to the export `nqn` on `port`; throws TargetRefused as the target would refuse. */
  async connect(nqn: string, hostNqn: string, port: string): Promise<TargetNamespace> {
    const exports = (await this.#request("GET", "/exports")) as ExportEntry[];
    const entry = exports.find((candidate) => candidate.nqn === nqn);
    if (entry !== undefined && String(entry.port) !== port) {
      throw new TargetRefused(404, `export ${nqn} listens on port ${entry.port}, not ${port}`);
    }
    return (await this.#request("POST", "/exports/connect", { nqn, hostNqn })) as TargetNamespace;
  }

  async disconnect(nqn: string, hostNqn: string): Promise<void> {
    await this.#request("POST", "/exports/disconnect", { nqn, hostNqn });
  }

  /** node:http rather than fetch: loading fetch's undici costs every `nvme` invocation ~100 ms. */
  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let status: number;
    let text: string;
    try {
      ({ status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const request = httpRequest(
          new URL(path, this.baseUrl),
          { method, headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }, timeout: REQUEST_TIMEOUT_MS },
          (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
            response.on("error", reject);
          },
        );
        request.on("timeout", () => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
        request.on("error", reject);
        request.end(payload);
      }));
    } catch (err) {
      throw new TargetRefused(0, `simulator control API at ${this.baseUrl} unreachable: ${(err as Error).message}`);
    }
    const json: unknown = text === "" ? undefined : JSON.parse(text);
    if (status < 200 || status >= 300) {
      const message = (json as { error?: string } | undefined)?.error ?? `HTTP ${status}`;
      throw new TargetRefused(status, `${method} ${path}: ${message}`);
    }
    return json;
  }
}
