import { durationSetting, enumSetting, type Setting } from "../config/settings.js";
import { parseEndpoint, parseHostPort, type Endpoint } from "../csi/endpoint.js";
import { parseSocketMode } from "../csi/grpc-server.js";
import { LOG_LEVELS } from "../observability/logger.js";

export const DEFAULT_DRIVER_NAME = "rds.csi.srvlab.io";

/** The CSI spec's rule for plugin names: at most 63 characters, alphanumeric at both ends, `-` and `.` between. */
const DRIVER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$/;

export type ListenAddress = NonNullable<ReturnType<typeof parseHostPort>>;

/** Settings every rds-csi service has; each service passes the defaults that fit its deployment. */
export function commonSettings(defaults: { readonly endpoint: string; readonly metricsPort: number }) {
  return {
    driverName: {
      flag: "driver-name",
      env: "CSI_DRIVER_NAME",
      description: "CSI driver name; keep the default to manage volumes made by the earlier Go driver",
      default: DEFAULT_DRIVER_NAME,
      hint: "name",
      parse(raw: string): string {
        if (!DRIVER_NAME.test(raw)) {
          throw new Error("must be at most 63 characters of letters, digits, '-' and '.', starting and ending with a letter or digit");
        }
        return raw;
      },
    } satisfies Setting<string>,
    endpoint: {
      flag: "csi-endpoint",
      env: "CSI_ENDPOINT",
      description: "where the CSI gRPC server listens: unix:///path/csi.sock or tcp://host:port",
      default: parseEndpoint(defaults.endpoint),
      hint: "endpoint",
      parse: (raw: string): Endpoint => parseEndpoint(raw),
      format: (endpoint: Endpoint): string => endpoint.uri,
    } satisfies Setting<Endpoint>,
    socketMode: {
      flag: "csi-socket-mode",
      env: "CSI_SOCKET_MODE",
      description: "file mode of the unix socket; kubelet and the sidecars run as root",
      default: 0o660,
      hint: "octal mode",
      parse: parseSocketMode,
      format: (mode: number): string => `0${mode.toString(8)}`,
    } satisfies Setting<number>,
    logLevel: enumSetting({
      flag: "log-level",
      env: "LOG_LEVEL",
      description: "least severe level written to the log",
      default: "info",
      values: LOG_LEVELS,
    }),
    metricsAddress: {
      flag: "metrics-address",
      env: "METRICS_ADDRESS",
      description: "host:port of the HTTP server for /metrics, /healthz and /readyz",
      default: { host: "0.0.0.0", port: defaults.metricsPort },
      hint: "host:port",
      parse: parseListenAddress,
      format: (address: ListenAddress): string => `${address.host}:${address.port}`,
    } satisfies Setting<ListenAddress>,
    shutdownGrace: durationSetting({
      flag: "shutdown-grace",
      env: "SHUTDOWN_GRACE",
      description: "how long in-flight calls may run after SIGTERM before they are cancelled; keep it below the pod's terminationGracePeriodSeconds",
      default: 25_000,
    }),
  };
}

function parseListenAddress(raw: string): ListenAddress {
  const address = parseHostPort(raw);
  if (!address) throw new Error("must be host:port with a port from 0 to 65535, e.g. 0.0.0.0:9809");
  return address;
}
