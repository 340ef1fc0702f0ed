import { createServer, type Socket } from "node:net";
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { InvalidArgumentError, UnavailableError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import type { MetricsRegistry } from "../observability/metrics.js";
import { normalizeAuthority } from "./authority-normalizer.js";
import { REQUEST_LIMITS } from "./request-limits.js";
import { tcpUri, type Endpoint } from "./endpoint.js";
import { loggingInterceptor } from "./request-logging.js";
import { metricsInterceptor } from "./request-metrics.js";
import {
  toGrpcImplementation,
  type Interceptor,
  type ServiceDefinitionLike,
  type UnaryImplementation,
} from "./unary-handler.js";
import { withStrictDecoding } from "./strict-request-decoding.js";
import { prepareSocketPath, setSocketMode } from "./unix-socket.js";

/** One CSI service to serve: its generated definition and our async implementation of it. */
export interface ServiceRegistration {
  readonly definition: ServiceDefinition;
  readonly implementation: (options: { interceptors: readonly Interceptor[]; logger: Logger }) => UntypedServiceImplementation;
}

/** Pairs a generated definition with an implementation the compiler checks against it. */
export function csiService<D extends ServiceDefinitionLike>(definition: D, implementation: UnaryImplementation<D>): ServiceRegistration {
  return {
    definition: withStrictDecoding(definition as unknown as ServiceDefinition),
    implementation: (options) => toGrpcImplementation(definition, implementation, options),
  };
}

export interface CsiServerOptions {
  readonly endpoint: Endpoint;
  readonly services: readonly ServiceRegistration[];
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Methods logged at debug because sidecars poll them. */
  readonly quietMethods?: ReadonlySet<string>;
  /** File mode of a unix socket; kubelet and the sidecars run as root, so nobody else needs it. */
  readonly socketMode?: number;
}

export interface CsiServer {
  /** The bound endpoint, with the real port when `tcp://host:0` was asked for. */
  readonly uri: string;
  /**
   * Stops accepting calls and lets in-flight ones finish for up to `graceMs`; calls still running
   * then are cancelled (their handlers' signals fire). Resolves once the server is closed.
   */
  shutdown(graceMs: number): Promise<void>;
}

const DEFAULT_QUIET_METHODS = new Set(["Probe", "GetPluginInfo", "GetPluginCapabilities", "NodeGetCapabilities", "ControllerGetCapabilities"]);

export async function startCsiServer(options: CsiServerOptions): Promise<CsiServer> {
  const { endpoint, logger } = options;
  const interceptors = [loggingInterceptor(options.quietMethods ?? DEFAULT_QUIET_METHODS), metricsInterceptor(options.metrics)];
  // Over-size messages are refused from their length prefix, before their body is buffered (request-limits.ts).
  const server = new Server({ "grpc.max_receive_message_length": REQUEST_LIMITS.messageBytes });
  for (const service of options.services) {
    server.addService(service.definition, service.implementation({ interceptors, logger }));
  }
  // We own the listening socket and inject each connection into grpc-js, so that every request's
  // header block passes the :authority normalizer first (see authority-normalizer.ts).
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const sockets = new Set<Socket>();
  const listener = createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    injector.injectConnection(normalizeAuthority(socket));
  });
  if (endpoint.kind === "unix") await prepareSocketPath(endpoint.path);
  await new Promise<void>((resolve, reject) => {
    listener.once("error", (err) => reject(new UnavailableError(`cannot listen on ${endpoint.uri}: ${err.message}`, { cause: err })));
    if (endpoint.kind === "unix") listener.listen(endpoint.path, resolve);
    else listener.listen(endpoint.port, endpoint.host, resolve);
  });
  if (endpoint.kind === "unix") await setSocketMode(endpoint.path, options.socketMode ?? 0o660);
  const address = listener.address();
  const uri = endpoint.kind === "tcp" && address && typeof address === "object" ? tcpUri(endpoint.host, address.port) : endpoint.uri;
  logger.info("CSI server listening", { endpoint: uri });

  let closed: Promise<void> | undefined;
  return {
    uri,
    shutdown(graceMs) {
      closed ??= (async () => {
        const stopListening = new Promise<void>((resolve) => listener.close(() => resolve()));
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            logger.warn("in-flight calls outlived the shutdown grace period; cancelling them", { grace_ms: graceMs });
            server.forceShutdown();
            for (const socket of sockets) socket.destroy();
          }, graceMs);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
        for (const socket of sockets) socket.destroy();
        await stopListening;
        logger.info("CSI server stopped", { endpoint: uri });
      })();
      return closed;
    },
  };
}

/** Socket modes are given as octal strings in configuration ("0660"). */
export function parseSocketMode(raw: string): number {
  if (!/^0?[0-7]{3}$/.test(raw)) throw new InvalidArgumentError(`socket mode "${raw}" must be an octal file mode like 0660`);
  return Number.parseInt(raw, 8);
}
