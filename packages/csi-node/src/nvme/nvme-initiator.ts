/** Where and how to connect: everything `nvme connect` needs for one volume's subsystem. */
export interface ConnectRequest {
  readonly address: string;
  readonly port: number;
  readonly nqn: string;
  readonly hostNqn: string;
  readonly hostId: string;
  /** seconds the kernel keeps retrying a lost controller before failing I/O; -1 = forever */
  readonly ctrlLossTmo: number;
  /** seconds between reconnect attempts */
  readonly reconnectDelay: number;
  /** keep-alive timeout, seconds */
  readonly keepAliveTmo: number;
}

/** Kernel controller states, as `/sys/class/nvme/nvmeC/state` shows them. */
export type ControllerState = "live" | "connecting" | "resetting" | "deleting" | "deleting (no IO)" | "new" | "dead" | (string & {});

/** One fabric controller of a subsystem, read from sysfs. */
export interface ControllerInfo {
  /** `nvmeC` */
  readonly name: string;
  readonly state: ControllerState;
  /** `traddr=A,trsvcid=P` parsed; undefined fields when sysfs lacks them */
  readonly address: { readonly traddr?: string; readonly trsvcid?: string; readonly raw: string };
  readonly hostNqn: string | undefined;
  readonly transport: string | undefined;
}

export interface ConnectResult {
  /** false when the kernel already had a controller for this target and host */
  readonly newlyConnected: boolean;
}

/**
 * The node's NVMe/TCP initiator: the one side effect on fabric connections, owned by the driver so it
 * can be faked and so nvme-cli's quirks stop here (STYLE §2, §3).
 */
export interface NvmeInitiator {
  connect(request: ConnectRequest, signal: AbortSignal): Promise<ConnectResult>;
  /** Disconnects every controller of the subsystem; returns how many nvme-cli reported. */
  disconnect(nqn: string, signal: AbortSignal): Promise<number>;
  /** The controllers of the subsystem NQN, from sysfs (sorted by name). */
  controllers(nqn: string): Promise<ControllerInfo[]>;
}

/** Parses the controller's `address` attribute (`traddr=10.0.0.1,trsvcid=4420[,src_addr=…]`). */
export function parseControllerAddress(raw: string): ControllerInfo["address"] {
  const fields = new Map<string, string>();
  for (const part of raw.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const traddr = fields.get("traddr");
  const trsvcid = fields.get("trsvcid");
  return { raw, ...(traddr !== undefined ? { traddr } : {}), ...(trsvcid !== undefined ? { trsvcid } : {}) };
}
