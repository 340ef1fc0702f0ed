import { Client as GenericClient, credentials, Metadata, type CallOptions, type Client, type ClientUnaryCall, type ServiceError } from "@grpc/grpc-js";
import { csi, parseEndpoint } from "@rds-csi/core";

/** Clients for every CSI service of one endpoint, as a sidecar or kubelet would hold them. */
export interface CsiClients {
  readonly identity: csi.IdentityClient;
  readonly controller: csi.ControllerClient;
  readonly node: csi.NodeClient;
  close(): void;
}

export function connectCsi(endpointUri: string): CsiClients {
  const endpoint = parseEndpoint(endpointUri);
  const target = endpoint.kind === "unix" ? `unix://${endpoint.path}` : `${endpoint.host}:${endpoint.port}`;
  const insecure = credentials.createInsecure();
  const clients = {
    identity: new csi.IdentityClient(target, insecure),
    controller: new csi.ControllerClient(target, insecure),
    node: new csi.NodeClient(target, insecure),
  };
  return {
    ...clients,
    close: () => Object.values(clients).forEach((client: Client) => client.close()),
  };
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

export interface CallSettings {
  readonly deadlineMs?: number;
  readonly metadata?: Record<string, string>;
}

/** Calls one unary method and settles with its response or its `ServiceError` (which carries `code`). */
export function callUnary<Req, Res>(
  client: Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  settings: CallSettings = {},
): Promise<Res> {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(settings.metadata ?? {})) metadata.set(key, value);
  const options: Partial<CallOptions> = { deadline: Date.now() + (settings.deadlineMs ?? 10_000) };
  return new Promise((resolve, reject) => {
    method.call(client, request, metadata, options, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

/**
 * Calls one unary method with the request's bytes as given and settles with the response's bytes: the
 * way to put on the wire what no generated encoder would (invalid UTF-8 in a string, a broken message).
 * `path` is the full method path, e.g. `/csi.v1.Controller/CreateVolume`.
 */
export function callRawUnary(endpointUri: string, path: string, bytes: Buffer, settings: CallSettings = {}): Promise<Buffer> {
  const endpoint = parseEndpoint(endpointUri);
  const target = endpoint.kind === "unix" ? `unix://${endpoint.path}` : `${endpoint.host}:${endpoint.port}`;
  const client = new GenericClient(target, credentials.createInsecure());
  const identity = (value: Buffer): Buffer => value;
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(path, identity, identity, bytes, new Metadata(), { deadline: Date.now() + (settings.deadlineMs ?? 10_000) }, (error, response) =>
      error ? reject(error) : resolve(response as Buffer),
    );
  }).finally(() => client.close());
}
