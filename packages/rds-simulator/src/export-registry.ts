import type { AllowHostMode } from "./settings.js";

/** A disk exported over NVMe/TCP, as the fake NVMe fabric needs it. */
export interface NvmeExport {
  readonly slot: string;
  /** the subsystem NQN initiators connect to (the slot when `nvme-tcp-server-nqn` is empty) */
  readonly nqn: string;
  readonly port: number;
  /** host NQNs from `nvme-tcp-server-allow-host-name`; empty: any host */
  readonly allowedHosts: readonly string[];
  /** absolute path of the sparse file that holds the disk's bytes */
  readonly backingFile: string;
}

export interface ExportWithConnections extends NvmeExport {
  /** host NQNs connected now */
  readonly connections: readonly string[];
}

/**
 * Why a live connection ended: the host's access was revoked (`enforce-and-drop`), the export went away
 * or changed (removed, unexported, new NQN, port or file), the RDS restarted, or the simulator stopped.
 */
export type DropReason = "access-revoked" | "export-removed" | "restart" | "shutdown";

export interface ConnectionDropped {
  readonly nqn: string;
  readonly hostNqn: string;
  readonly reason: DropReason;
}

export type RefusalReason = "no-such-export" | "host-not-allowed" | "unavailable";

/** A connection the RDS refuses: no export with that NQN, a host not allowed, or the RDS restarting. */
export class ExportConnectionRefused extends Error {
  override readonly name = "ExportConnectionRefused";
  readonly reason: RefusalReason;

  constructor(reason: RefusalReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/**
 * The NVMe/TCP side of the RDS: which exports exist and which hosts are connected to each. The disk
 * table is the source of truth for exports (`update` after each change); connections exist only in
 * memory, like a target's live sessions.
 */
export class ExportRegistry {
  #exports = new Map<string, NvmeExport>();
  readonly #connections = new Map<string, Set<string>>();
  readonly #listeners = new Set<(event: ConnectionDropped) => void>();
  #mode: AllowHostMode;
  #available = true;

  constructor(mode: AllowHostMode) {
    this.#mode = mode;
  }

  /**
   * Replaces the export list. Connections to an export that disappeared or changed identity (NQN,
   * port, backing file) are dropped; under `enforce-and-drop`, so are those of hosts no longer allowed.
   */
  update(exports: readonly NvmeExport[]): void {
    const next = new Map<string, NvmeExport>();
    // Two disks with one NQN: the first in disk order is the one initiators reach.
    for (const entry of exports) if (!next.has(entry.nqn)) next.set(entry.nqn, entry);
    for (const [nqn, hosts] of this.#connections) {
      const before = this.#exports.get(nqn);
      const after = next.get(nqn);
      const same = after !== undefined && before !== undefined && after.port === before.port && after.backingFile === before.backingFile;
      if (!same) {
        this.#dropHosts(nqn, [...hosts], "export-removed");
      } else if (this.#mode === "enforce-and-drop") {
        this.#dropHosts(nqn, [...hosts].filter((host) => !isAllowed(after, host)), "access-revoked");
      }
    }
    this.#exports = next;
  }

  setMode(mode: AllowHostMode): void {
    this.#mode = mode;
    this.update([...this.#exports.values()]);
  }

  /** While unavailable (an RDS restarting), new connections are refused. */
  setAvailable(available: boolean): void {
    this.#available = available;
  }

  list(): ExportWithConnections[] {
    return [...this.#exports.values()].map((entry) => ({ ...entry, connections: this.connections(entry.nqn) }));
  }

  /** Connects a host to an export; connecting a host that is already connected changes nothing. */
  connect(nqn: string, hostNqn: string): void {
    if (!this.#available) throw new ExportConnectionRefused("unavailable", `the RDS is restarting; ${hostNqn} cannot connect to ${nqn}`);
    const entry = this.#exports.get(nqn);
    if (entry === undefined) throw new ExportConnectionRefused("no-such-export", `no NVMe/TCP export with NQN ${nqn}`);
    if (this.#mode !== "ignored" && !isAllowed(entry, hostNqn)) {
      throw new ExportConnectionRefused("host-not-allowed", `host ${hostNqn} is not allowed to connect to ${nqn}`);
    }
    const hosts = this.#connections.get(nqn) ?? new Set<string>();
    hosts.add(hostNqn);
    this.#connections.set(nqn, hosts);
  }

  /** Disconnecting a host that is not connected changes nothing. */
  disconnect(nqn: string, hostNqn: string): void {
    const hosts = this.#connections.get(nqn);
    hosts?.delete(hostNqn);
    if (hosts?.size === 0) this.#connections.delete(nqn);
  }

  connections(nqn: string): string[] {
    return [...(this.#connections.get(nqn) ?? [])].sort();
  }

  dropAll(reason: DropReason): void {
    for (const [nqn, hosts] of this.#connections) this.#dropHosts(nqn, [...hosts], reason);
  }

  /** Calls `listener` for every connection the RDS ends; returns a function that unsubscribes. */
  onConnectionDropped(listener: (event: ConnectionDropped) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #dropHosts(nqn: string, hosts: readonly string[], reason: DropReason): void {
    for (const hostNqn of hosts) {
      this.disconnect(nqn, hostNqn);
      for (const listener of this.#listeners) listener({ nqn, hostNqn, reason });
    }
  }
}

function isAllowed(entry: NvmeExport, hostNqn: string): boolean {
  return entry.allowedHosts.length === 0 || entry.allowedHosts.includes(hostNqn);
}

/** `nvme-tcp-server-allow-host-name` as a list: comma-separated, blanks ignored. */
export function parseAllowedHosts(value: string): string[] {
  return value
    .split(",")
    .map((host) => host.trim())
    .filter((host) => host !== "");
}
