import { BoundedQueue, type Logger } from "@rds-csi/core";
import { namedAllowedHosts, setExportAllowList, type RdsClient } from "@rds-csi/core/routeros";
import type { StrategyResult } from "./fence-record.js";
import type { WriteGuard } from "./write-guard.js";

/** What `rds-csi-node selfcheck` proved about a live connection whose host left the allow-list. */
export type LiveConnectionBehaviour = "dropped" | "kept" | "unknown";

export interface StorageFenceOptions {
  readonly rds: RdsClient;
  /** Host access control was verified on this RDS (the controller's --host-access-control-trust=verified). */
  readonly hostAccessControl: boolean;
  readonly liveConnections: LiveConnectionBehaviour;
  readonly guard: WriteGuard;
  readonly logger: Logger;
}

/** One export the failed node holds, and the host NQNs of the other nodes attached to it (kept admitted). */
export interface Holding {
  readonly volumeId: string;
  readonly otherHosts: readonly string[];
}

export interface StorageFenceOutcome {
  readonly result: StrategyResult;
  /** whether the RDS cut the node's live connections (known from the self-check), when the allow-lists changed */
  readonly connectionsCut?: boolean;
  readonly revoked: readonly string[];
  readonly detail: string;
}

/**
 * The storage side of a fence: takes the node's host NQN out of the allow-list of every export it
 * holds, through core's one allow-list writer (setExportAllowList, which reads the list back). Only
 * usable when host access control was verified on this RDS; otherwise it reports itself unavailable
 * and the fence rests on the taint alone. Whether the RDS also cut the node's live connections is
 * what the self-check proved (`liveConnections`): an allow-list change alone does not end a session
 * on every NVMe target (Linux nvmet keeps it), so only `dropped` counts as cut.
 */
export class StorageFence {
  readonly #options: StorageFenceOptions;
  /**
   * Allow-list changes one at a time: each reads a list and writes it back without (or with) one host,
   * so the fences and unfences of two nodes sharing an RWX export (reconciled at once by different
   * workers) must not interleave, or the second would write back the host the first removed.
   */
  readonly #allowListChanges = new BoundedQueue(1);

  constructor(options: StorageFenceOptions) {
    this.#options = options;
  }

  get available(): boolean {
    return this.#options.hostAccessControl;
  }

  async fence(nodeName: string, hostNqn: string | undefined, holdings: readonly Holding[], signal: AbortSignal): Promise<StorageFenceOutcome> {
    const { logger } = this.#options;
    if (!this.available) {
      return { result: "unavailable", revoked: [], detail: "host access control is not verified on this RDS (--host-access-control-trust), so exports cannot shut a host out" };
    }
    if (hostNqn === undefined) {
      return { result: "failed", revoked: [], detail: `node ${nodeName} has no host NQN in its annotation rds.csi.srvlab.io/host-nqn, so its access cannot be revoked` };
    }
    const revoked: string[] = [];
    let wrote = true;
    for (const holding of holdings) {
      try {
        const outcome = await this.#revoke(nodeName, hostNqn, holding, signal);
        if (outcome === "gone") continue;
        if (outcome === "dry_run") wrote = false;
        revoked.push(holding.volumeId);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        logger.warn("storage fence: cannot revoke the node's access to an export", { node_id: nodeName, volume_id: holding.volumeId, error: (err as Error).message });
        return { result: "failed", revoked, detail: `revoking ${holding.volumeId} failed: ${(err as Error).message}` };
      }
    }
    if (!wrote) return { result: "dry_run", revoked, detail: `would revoke ${hostNqn} from ${revoked.length} export(s)` };
    const connectionsCut = this.#options.liveConnections === "dropped";
    return {
      result: "success",
      connectionsCut,
      revoked,
      detail: `${hostNqn} removed from ${revoked.length} export(s); live connections ${connectionsCut ? "cut" : `not known to be cut (self-check: ${this.#options.liveConnections})`}`,
    };
  }

  /**
   * Before the reconciler removes a stuck detach's finalizer on the strength of the storage fence:
   * makes sure the export still shuts the node out, and shuts it out again if not. An allow-list written
   * after the fence by a ControllerPublish or Unpublish of another node, which read this node's Node
   * just before the fence record was written, can have put its host back. `again`: it had to be
   * revoked again. Errors are thrown; the finalizer then stays.
   */
  async keepShutOut(nodeName: string, hostNqn: string, holding: Holding, signal: AbortSignal): Promise<{ readonly again: boolean }> {
    const outcome = await this.#revoke(nodeName, hostNqn, holding, signal);
    return { again: outcome === "revoked" || outcome === "dry_run" };
  }

  /**
   * Takes `hostNqn` out of the export's allow-list, keeping every other host it admits (or, when it
   * admits any host, the other holders'). `absent`: it was not admitted, nothing written.
   */
  async #revoke(nodeName: string, hostNqn: string, holding: Holding, signal: AbortSignal): Promise<"gone" | "absent" | "revoked" | "dry_run"> {
    const { rds, guard } = this.#options;
    return this.#allowListChanges.run(signal, async () => {
      const volume = await rds.getVolume(holding.volumeId, signal);
      if (volume === undefined) return "gone";
      const named = namedAllowedHosts(volume);
      if (named !== undefined && !named.includes(hostNqn)) return "absent";
      const keep = (named ?? holding.otherHosts).filter((host) => host !== hostNqn);
      const written = await guard.write(`revoke ${hostNqn} from the export of ${holding.volumeId}`, { node_id: nodeName, volume_id: holding.volumeId, keep }, () =>
        setExportAllowList(rds, holding.volumeId, keep, signal).then(() => undefined),
      );
      return written ? "revoked" : "dry_run";
    });
  }

  /**
   * The reverse, when the node is unfenced: admits `hostNqn` again to the export of each volume it is
   * still attached to (its VolumeAttachment survived the fence), through the same allow-list writer,
   * keeping every host the export admits now. Idempotent: an export that admits the host already, or
   * any host, or that is gone, is left as it is. Returns the volume ids whose allow-list was written
   * (or would have been, in dry-run). Errors are thrown: the unfence waits until access is back.
   * Nothing to do without host access control: the controller writes no allow-list then either.
   */
  async restore(nodeName: string, hostNqn: string, volumeIds: readonly string[], signal: AbortSignal): Promise<string[]> {
    const { rds, guard } = this.#options;
    if (!this.available) return [];
    const restored: string[] = [];
    for (const volumeId of volumeIds) {
      const written = await this.#allowListChanges.run(signal, async () => {
        const volume = await rds.getVolume(volumeId, signal);
        const named = volume === undefined ? undefined : namedAllowedHosts(volume);
        if (named === undefined || named.includes(hostNqn)) return false;
        const admit = [...named, hostNqn];
        await guard.write(`admit ${hostNqn} to the export of ${volumeId} again`, { node_id: nodeName, volume_id: volumeId, admit }, () =>
          setExportAllowList(rds, volumeId, admit, signal).then(() => undefined),
        );
        return true;
      });
      if (written) restored.push(volumeId);
    }
    return restored;
  }
}
