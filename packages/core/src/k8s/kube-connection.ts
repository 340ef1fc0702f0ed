import http from "node:http";
import https from "node:https";
import { isIPv4 } from "node:net";
import { InvalidArgumentError } from "../errors.js";

export interface KubeConnectionOptions {
  /** The API server's URL, e.g. `https://10.96.0.1:443`; a path prefix (an API proxy's) is kept. */
  readonly server: string;
  /** PEM of the CAs that sign the API server's certificate; absent: the system's CAs. */
  readonly ca?: string | Buffer;
  /** PEM client certificate and key, for a kubeconfig that authenticates by certificate. */
  readonly clientCertificate?: string | Buffer;
  readonly clientKey?: string | Buffer;
  /** Accept any server certificate (a kubeconfig's `insecure-skip-tls-verify`; development only). */
  readonly insecureSkipTlsVerify?: boolean;
  /** The bearer token, asked for on every request: a service-account token is rotated under us. */
  readonly token?: () => Promise<string | undefined>;
  /**
   * Sent as User-Agent: the service's name, so the API server's audit log (and the fake API server's
   * request record, which the RBAC test compares with the chart's rules) tells the services apart.
   */
  readonly userAgent?: string;
}

export interface KubeHttpRequest {
  readonly method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  /** API path, e.g. `/api/v1/nodes/n1` */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Where the API server is and how to authenticate to it: the one place that turns an API path into an
 * HTTP request. One keep-alive agent per connection, so calls reuse sockets and idle ones do not keep
 * the process alive.
 */
export class KubeConnection {
  readonly server: URL;
  readonly #agent: http.Agent;
  readonly #token: (() => Promise<string | undefined>) | undefined;
  readonly #userAgent: string;

  constructor(options: KubeConnectionOptions) {
    this.server = new URL(options.server);
    if (this.server.protocol !== "https:" && this.server.protocol !== "http:") {
      throw new InvalidArgumentError(`the API server URL ${options.server} is neither https: nor http:`);
    }
    // Plain HTTP would carry the token or the client key in cleartext; only a server on this host
    // (`kubectl proxy`, a test's fake API server) is reached without crossing a network.
    const credentials = options.token !== undefined || options.clientCertificate !== undefined || options.clientKey !== undefined;
    if (this.server.protocol === "http:" && credentials && !isLoopback(this.server.hostname)) {
      throw new InvalidArgumentError(`the API server ${options.server} is plain http: on a host other than this one, which would send the credentials in cleartext; use https:`);
    }
    this.#agent =
      this.server.protocol === "https:"
        ? new https.Agent({
            keepAlive: true,
            ca: options.ca,
            cert: options.clientCertificate,
            key: options.clientKey,
            rejectUnauthorized: options.insecureSkipTlsVerify !== true,
          })
        : new http.Agent({ keepAlive: true });
    this.#token = options.token;
    this.#userAgent = options.userAgent ?? "rds-csi";
  }

  /** The URL of an API path with its query (unset values left out). */
  url(path: string, query: Readonly<Record<string, string | undefined>> = {}): URL {
    const url = new URL(this.server);
    url.pathname = `${this.server.pathname.replace(/\/+$/u, "")}${path}`;
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    return url;
  }

  /** Starts a request with credentials; the caller writes the body (if any), ends it and reads the response. */
  async open(request: KubeHttpRequest, signal: AbortSignal): Promise<http.ClientRequest> {
    const token = await this.#token?.();
    signal.throwIfAborted();
    const headers: Record<string, string> = { accept: "application/json", "user-agent": this.#userAgent, ...request.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    const url = this.url(request.path, request.query);
    const transport = url.protocol === "https:" ? https : http;
    const outgoing = transport.request(url, { method: request.method, headers, agent: this.#agent });
    // Not the `signal` option: an abort after the response ended then errors the freed socket, which
    // nobody listens to any more, and the process dies. destroy() without an error only closes; a
    // request or response still in flight then fails with a connection reset, heard by its reader.
    const abort = (): void => {
      outgoing.destroy();
    };
    signal.addEventListener("abort", abort, { once: true });
    outgoing.once("close", () => signal.removeEventListener("abort", abort));
    return outgoing;
  }

  /** Closes the idle sockets; for shutdown and tests. */
  close(): void {
    this.#agent.destroy();
  }
}

/** 127.0.0.0/8, ::1 or localhost; `hostname` as a URL gives it (IPv6 in brackets, IPv4 normalized). */
function isLoopback(hostname: string): boolean {
  if (hostname === "localhost" || hostname === "[::1]") return true;
  return isIPv4(hostname) && hostname.startsWith("127.");
}
