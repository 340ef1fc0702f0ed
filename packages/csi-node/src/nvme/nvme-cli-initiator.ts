import { InternalError, InvalidArgumentError, isNqn, UnavailableError, type Exec } from "@rds-csi/core";
import { parseControllerAddress, type ConnectRequest, type ConnectResult, type ControllerInfo, type NvmeInitiator } from "./nvme-initiator.js";
import type { Sysfs } from "./sysfs.js";

/** `nvme connect` waits for the TCP connect and the fabrics handshake; past this the target is not answering. */
export const NVME_CONNECT_TIMEOUT_MS = 30_000;
/** `nvme disconnect` deletes controllers; it can block while the kernel flushes, but not forever. */
export const NVME_DISCONNECT_TIMEOUT_MS = 30_000;

export interface NvmeCliInitiatorOptions {
  readonly exec: Exec;
  /** the nvme-cli executable (`nvme`, or the fake fabric's shim in tests) */
  readonly nvmeCli: string;
  readonly sysfs: Sysfs;
  readonly connectTimeoutMs?: number;
  readonly disconnectTimeoutMs?: number;
}

/** NvmeInitiator over nvme-cli 2.x; state is always read back from sysfs, never from nvme-cli's text. */
export class NvmeCliInitiator implements NvmeInitiator {
  readonly #exec: Exec;
  readonly #nvme: string;
  readonly #sysfs: Sysfs;
  readonly #connectTimeoutMs: number;
  readonly #disconnectTimeoutMs: number;

  constructor(options: NvmeCliInitiatorOptions) {
    this.#exec = options.exec;
    this.#nvme = options.nvmeCli;
    this.#sysfs = options.sysfs;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? NVME_CONNECT_TIMEOUT_MS;
    this.#disconnectTimeoutMs = options.disconnectTimeoutMs ?? NVME_DISCONNECT_TIMEOUT_MS;
  }

  async connect(request: ConnectRequest, signal: AbortSignal): Promise<ConnectResult> {
    checkNqn(request.nqn, "nqn");
    checkNqn(request.hostNqn, "hostNqn");
    const args = [
      "connect",
      "-t", "tcp",
      "-a", request.address,
      "-s", String(request.port),
      "-n", request.nqn,
      "--hostnqn", request.hostNqn,
      "--hostid", request.hostId,
      "-l", String(request.ctrlLossTmo),
      "-c", String(request.reconnectDelay),
      "-k", String(request.keepAliveTmo),
    ];
    const result = await this.#exec.run(this.#nvme, args, { timeoutMs: this.#connectTimeoutMs, signal });
    if (result.code === 0) return { newlyConnected: true };
    // The kernel refuses a second controller for the same target, host NQN and transport (EALREADY,
    // nvme-cli prints "already connected"). That is the state we asked for: a retried NodeStage, or
    // a controller another volume of the same subsystem shares. Success, but the caller still checks
    // the controller's state in sysfs before using it — "already connected" says nothing about live.
    if (/already connected/i.test(result.stderr)) return { newlyConnected: false };
    throw new UnavailableError(`nvme connect to ${request.nqn} at ${request.address}:${request.port} failed (exit ${result.code ?? result.signal}): ${result.stderr.trim()}`);
  }

  async disconnect(nqn: string, signal: AbortSignal): Promise<number> {
    checkNqn(nqn, "nqn");
    const result = await this.#exec.run(this.#nvme, ["disconnect", "-n", nqn], { timeoutMs: this.#disconnectTimeoutMs, signal });
    if (result.code !== 0) throw new InternalError(`nvme disconnect -n ${nqn} failed (exit ${result.code ?? result.signal}): ${result.stderr.trim()}`);
    const count = /disconnected (\d+) controller/.exec(result.stdout)?.[1];
    return count === undefined ? 0 : Number(count);
  }

  async controllers(nqn: string): Promise<ControllerInfo[]> {
    const out: ControllerInfo[] = [];
    for (const name of await this.#sysfs.list("class/nvme")) {
      const base = `class/nvme/${name}`;
      if ((await this.#sysfs.read(`${base}/subsysnqn`)) !== nqn) continue;
      const state = await this.#sysfs.read(`${base}/state`);
      // A controller vanishing between list and read is being deleted: not one of ours any more.
      if (state === undefined) continue;
      out.push({
        name,
        state,
        address: parseControllerAddress((await this.#sysfs.read(`${base}/address`)) ?? ""),
        hostNqn: await this.#sysfs.read(`${base}/hostnqn`),
        transport: await this.#sysfs.read(`${base}/transport`),
      });
    }
    return out;
  }
}

/** Arguments are passed as argv (no shell), but a comma would make nvme-cli split one NQN into several. */
function checkNqn(value: string, what: string): void {
  if (!isNqn(value)) throw new InvalidArgumentError(`${what} is not an NVMe qualified name: ${JSON.stringify(value)}`);
}
