import { isAbsolute } from "node:path";
import { InvalidArgumentError } from "../errors.js";

/** Where a CSI server listens: a unix socket (what kubelet and the sidecars use) or TCP (tests, debugging). */
export type Endpoint =
  | { readonly kind: "unix"; readonly path: string; readonly uri: string }
  | { readonly kind: "tcp"; readonly host: string; readonly port: number; readonly uri: string };

/** Parses `unix:///abs/path.sock` or `tcp://host:port`; anything else names itself in the error. */
export function parseEndpoint(raw: string): Endpoint {
  if (raw.startsWith("unix://")) {
    const path = raw.slice("unix://".length);
    if (!isAbsolute(path)) {
      throw new InvalidArgumentError(`endpoint "${raw}": a unix socket path must be absolute (unix:///path/csi.sock)`);
    }
    if (path.endsWith("/")) {
      throw new InvalidArgumentError(`endpoint "${raw}": the socket path names a directory, not a file`);
    }
    return { kind: "unix", path, uri: raw };
  }
  if (raw.startsWith("tcp://")) {
    const address = parseHostPort(raw.slice("tcp://".length));
    if (!address) {
      throw new InvalidArgumentError(`endpoint "${raw}": expected tcp://host:port with a port from 0 to 65535`);
    }
    return { kind: "tcp", ...address, uri: raw };
  }
  throw new InvalidArgumentError(`endpoint "${raw}": the scheme must be unix:// or tcp://`);
}

/** `host:port`, `[v6]:port`; the host comes back without brackets, ready for `listen`. */
export function parseHostPort(raw: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(raw);
  if (!match) return undefined;
  const port = Number(match[3]);
  return port <= 65535 ? { host: (match[1] ?? match[2])!, port } : undefined;
}

export function tcpUri(host: string, port: number): string {
  return `tcp://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
