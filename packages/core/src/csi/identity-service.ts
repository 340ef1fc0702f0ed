import type { CallContext } from "./call-context.js";
import {
  GetPluginCapabilitiesResponse,
  GetPluginInfoResponse,
  IdentityService,
  ProbeResponse,
  type PluginCapability,
} from "./generated/csi/v1/csi.js";
import { csiService, type ServiceRegistration } from "./grpc-server.js";
import type { UnaryImplementation } from "./unary-handler.js";

export interface IdentityOptions {
  readonly driverName: string;
  readonly version: string;
  /** GetPluginCapabilities: the same set for every instance of a version (`pluginCapabilities`), whichever services it serves. */
  readonly capabilities: readonly PluginCapability[];
  /** Readiness of what the service depends on (RDS connection, nvme-cli, ...). */
  readonly probe: (signal: AbortSignal) => Promise<boolean>;
}

/** CSI Identity, shared by all three services: who we are, what we serve, whether we are ready. */
export class IdentityServiceImpl implements UnaryImplementation<IdentityService> {
  constructor(private readonly options: IdentityOptions) {}

  async getPluginInfo(): Promise<GetPluginInfoResponse> {
    return GetPluginInfoResponse.fromPartial({ name: this.options.driverName, vendorVersion: this.options.version });
  }

  async getPluginCapabilities(): Promise<GetPluginCapabilitiesResponse> {
    return GetPluginCapabilitiesResponse.fromPartial({ capabilities: [...this.options.capabilities] });
  }

  async probe(_request: unknown, context: CallContext): Promise<ProbeResponse> {
    return ProbeResponse.fromPartial({ ready: await this.options.probe(context.signal) });
  }
}

export function identityService(options: IdentityOptions): ServiceRegistration {
  return csiService(IdentityService, new IdentityServiceImpl(options));
}
