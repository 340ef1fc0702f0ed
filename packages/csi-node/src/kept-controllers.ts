/** One controller disconnectIfUnused left connected. */
export interface KeptController {
  readonly nqn: string;
  /** the volume whose unstage (or failed stage) kept it: its lock keeps a sweep off a NodeStage of it */
  readonly volumeId: string;
  /** why it was kept, last time it was looked at */
  readonly reason: string;
}

/**
 * Controllers of this driver that disconnectIfUnused kept for a reason that may pass (a holder, an
 * exclusive open, a mount in another namespace), by NQN. NodeUnstage answers OK all the same and no
 * RPC comes back for them, so the stale-mount watcher looks at these again every sweep and disconnects
 * them once the same rule allows it. In memory: after a restart, start-up reconciliation judges every
 * unclaimed controller of the managed prefix.
 */
export class KeptControllers {
  readonly #byNqn = new Map<string, KeptController>();

  /** Records a keep; true when the controller was not kept before, or for another reason (worth logging). */
  keep(entry: KeptController): boolean {
    const before = this.#byNqn.get(entry.nqn);
    this.#byNqn.set(entry.nqn, entry);
    return before?.reason !== entry.reason;
  }

  forget(nqn: string): void {
    this.#byNqn.delete(nqn);
  }

  list(): KeptController[] {
    return [...this.#byNqn.values()];
  }
}
