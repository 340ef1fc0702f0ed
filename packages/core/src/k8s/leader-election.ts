import { AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { abortableSleep } from "../resilience/abortable-sleep.js";
import { withDeadline } from "../resilience/with-deadline.js";
import type { KubeClient } from "./kube-client.js";
import type { KubeObject } from "./kube-objects.js";

/** coordination.k8s.io/v1 Lease, the fields leader election uses. Times are MicroTime (six fractional digits). */
export interface Lease extends KubeObject {
  readonly spec?: {
    readonly holderIdentity?: string;
    readonly leaseDurationSeconds?: number;
    readonly acquireTime?: string;
    readonly renewTime?: string;
    readonly leaseTransitions?: number;
  };
}

export interface LeaderElectionTiming {
  /** How long a follower waits, from when it last saw the Lease change, before it takes the Lease over. Default 15 s. */
  readonly leaseDurationMs: number;
  /** How long the leader acts after the last renew it sent that succeeded; must be < leaseDurationMs. Default 10 s. */
  readonly renewDeadlineMs: number;
  /** Wait between attempts to acquire or renew (jittered up to +20 % while following). Default 2 s. */
  readonly retryPeriodMs: number;
}

/** client-go's defaults (leaderelection, kube-controller-manager's --leader-elect-* flags). */
export const DEFAULT_LEADER_ELECTION_TIMING: LeaderElectionTiming = Object.freeze({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });

/** client-go's JitterFactor: the renew deadline must leave room for one jittered retry. */
const JITTER = 1.2;

export interface LeaderElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  /** the Lease's name, e.g. `rds-csi-attachment-reconciler` */
  readonly name: string;
  /** unique per replica: the pod name */
  readonly identity: string;
  readonly logger: Logger;
  readonly timing?: Partial<LeaderElectionTiming>;
  /** a monotonic clock in ms; default performance.now (never the wall clock, which can jump) */
  readonly now?: () => number;
}

export interface LeaderStatus {
  readonly identity: string;
  readonly leader: boolean;
  /** who holds the Lease as this replica last read it */
  readonly holder?: string;
}

/**
 * Leader election over a coordination.k8s.io/v1 Lease, on client-go's leaderelection model (v0.33
 * tools/leaderelection/leaderelection.go). Safety rests on two local clocks and no shared one:
 * - a follower takes the Lease over only after it has seen the same Lease record unchanged for
 *   leaseDuration, timed from when *it* first saw it (a skewed clock elsewhere cannot shorten that);
 * - the leader acts only until renewDeadline after it *sent* the last renew that succeeded; the
 *   server applied that renew after it was sent and the follower saw it after that, so the leader
 *   stops at least leaseDuration − renewDeadline before any follower can take over.
 * `isLeader()` computes that from the clock at every call; no timer has to fire for a leader that lost
 * the API server to stop acting. Callers check it right before every write, and may bound a write by
 * `termSignal()`, which aborts when the term lapses.
 * `stop()` (SIGTERM) releases a held Lease at once — holder cleared, duration 1 s, as client-go's
 * ReleaseOnCancel — so the other replica takes over without waiting out the lease.
 */
export class LeaderElector {
  readonly identity: string;
  readonly #options: LeaderElectorOptions;
  readonly #timing: LeaderElectionTiming;
  readonly #now: () => number;
  readonly #path: string;
  /** the Lease as last read or written, and when (local clock) its record last changed */
  #observed: { readonly lease: Lease; readonly record: string; readonly at: number } | undefined;
  /** local time the last successful acquire/renew was sent; leading until this + renewDeadline */
  #termStartedAt: number | undefined;
  #term: { readonly controller: AbortController; timer: NodeJS.Timeout } | undefined;
  #stopping: AbortController | undefined;
  #running: Promise<void> | undefined;
  readonly #listeners = new Set<(leader: boolean) => void>();
  #wasLeader = false;

  constructor(options: LeaderElectorOptions) {
    this.identity = options.identity;
    this.#options = options;
    this.#timing = { ...DEFAULT_LEADER_ELECTION_TIMING, ...options.timing };
    this.#now = options.now ?? (() => performance.now());
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = this.#timing;
    if (!options.identity) throw new InvalidArgumentError("leader election needs a non-empty identity (the pod name)");
    if (!(retryPeriodMs > 0 && renewDeadlineMs > JITTER * retryPeriodMs && leaseDurationMs > renewDeadlineMs)) {
      throw new InvalidArgumentError(
        `leader election timing must satisfy leaseDuration > renewDeadline > ${JITTER} x retryPeriod > 0, got ${leaseDurationMs} ms, ${renewDeadlineMs} ms, ${retryPeriodMs} ms`,
      );
    }
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/leases`;
  }

  /**
   * True while this replica may act: it holds the Lease and its last renew is younger than the renew
   * deadline. A bound function, so `isLeader: elector.isLeader` can be handed to a write guard.
   */
  readonly isLeader = (): boolean => {
    const started = this.#termStartedAt;
    const leading = started !== undefined && this.#stopping !== undefined && this.#now() < started + this.#timing.renewDeadlineMs;
    if (!leading && this.#wasLeader) this.#endTerm();
    return leading;
  };

  /** Aborts when the current term lapses or is given up; an already aborted signal when not leading. */
  termSignal(): AbortSignal {
    if (!this.isLeader() || this.#term === undefined) return AbortSignal.abort(new Error(`${this.identity} is not the leader`));
    return this.#term.controller.signal;
  }

  status(): LeaderStatus {
    const holder = this.#observed?.lease.spec?.holderIdentity;
    return { identity: this.identity, leader: this.isLeader(), ...(holder ? { holder } : {}) };
  }

  /** Called with true when this replica starts leading and false when it stops; returns the unsubscribe function. */
  onChange(listener: (leader: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts trying to acquire, then renewing; keeps going (following again after losing) until `stop`. */
  start(): void {
    if (this.#stopping) return;
    const stopping = new AbortController();
    this.#stopping = stopping;
    this.#running = this.#run(stopping.signal);
  }

  /** Stops acting at once, stops the loop, and releases the Lease when this replica holds it. */
  async stop(): Promise<void> {
    const stopping = this.#stopping;
    if (!stopping) return;
    this.#stopping = undefined;
    this.#endTerm();
    stopping.abort(new Error(`leader election for ${this.identity} stopped`));
    await this.#running;
    // Released whenever the Lease, as last seen, names us: also when a create or renew succeeded while
    // stopping (no term was started then). A stale copy only makes the release a harmless conflict.
    await this.#release();
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { retryPeriodMs } = this.#timing;
    while (!signal.aborted) {
      const leading = this.#termStartedAt !== undefined;
      try {
        await this.#tryAcquireOrRenew(signal);
      } catch (err) {
        if (signal.aborted) return;
        this.#options.logger.warn(leading ? "could not renew the leader Lease" : "could not acquire the leader Lease", {
          lease: this.#options.name,
          identity: this.identity,
          error: err instanceof Error ? err.message : String(err),
        });
      }
      this.isLeader(); // ends a lapsed term now, so listeners hear of it even when no caller asks
      const wait = this.isLeader() ? retryPeriodMs : retryPeriodMs * (1 + (JITTER - 1) * Math.random());
      try {
        await abortableSleep(wait, signal);
      } catch {
        return;
      }
    }
  }

  /** One attempt: read the Lease, then take it (free or expired as we observed it) or renew it (ours). */
  async #tryAcquireOrRenew(stopping: AbortSignal): Promise<void> {
    const { client, name } = this.#options;
    const { renewDeadlineMs, leaseDurationMs } = this.#timing;
    await withDeadline(stopping, renewDeadlineMs, async (signal) => {
      const path = `${this.#path}/${encodeURIComponent(name)}`;
      let current: Lease;
      try {
        current = await client.get<Lease>(`read Lease ${name}`, path, signal);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        const sentAt = this.#now();
        const body = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name }, spec: this.#record(undefined) };
        const created = await client.create<Lease>(`create Lease ${name}`, this.#path, body, signal).catch((error: unknown) => {
          if (error instanceof AlreadyExistsError) return undefined; // another replica was first; read it next time
          throw error;
        });
        if (created) this.#won(created, sentAt);
        return;
      }
      this.#observe(current);
      const holder = current.spec?.holderIdentity;
      const mine = holder === this.identity;
      // Every replica runs with the same timing, so our own lease duration is the holder's too.
      const expired = this.#now() >= this.#observed!.at + leaseDurationMs;
      if (holder && !mine && !expired) {
        this.#endTerm(); // someone else leads
        return;
      }
      // The send time of the update, not of the read, starts the term: the server applies it later.
      const sentAt = this.#now();
      try {
        const updated = await client.update<Lease>(`${mine ? "renew" : "acquire"} Lease ${name}`, path, { ...current, spec: this.#record(current) }, signal);
        this.#won(updated, sentAt);
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err; // a conflict: changed since we read it, decide again next time
      }
    });
  }

  /** The Lease spec that says this replica holds it from now. */
  #record(current: Lease | undefined): NonNullable<Lease["spec"]> {
    const now = microTime(new Date());
    const old = current?.spec;
    const mine = old?.holderIdentity === this.identity;
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.#timing.leaseDurationMs / 1000),
      acquireTime: mine && old?.acquireTime ? old.acquireTime : now,
      renewTime: now,
      // client-go counts a transition whenever the previous holder was not us, a released (empty) one too.
      leaseTransitions: (old?.leaseTransitions ?? 0) + (current !== undefined && !mine ? 1 : 0),
    };
  }

  #observe(lease: Lease): void {
    const record = JSON.stringify(lease.spec ?? {});
    if (this.#observed?.record !== record) this.#observed = { lease, record, at: this.#now() };
    else this.#observed = { ...this.#observed, lease };
  }

  #won(lease: Lease, sentAt: number): void {
    this.#observe(lease);
    if (this.#stopping === undefined) return;
    // A renew that comes back after the term it would extend lapsed does not revive it.
    const lapsed = this.#termStartedAt !== undefined && this.#now() >= this.#termStartedAt + this.#timing.renewDeadlineMs;
    if (lapsed) this.#endTerm();
    this.#termStartedAt = sentAt;
    if (!this.isLeader()) {
      this.#termStartedAt = undefined;
      return;
    }
    const deadline = sentAt + this.#timing.renewDeadlineMs - this.#now();
    if (this.#term === undefined) {
      const controller = new AbortController();
      this.#term = { controller, timer: setTimeout(() => this.isLeader(), deadline) };
    } else {
      clearTimeout(this.#term.timer);
      this.#term.timer = setTimeout(() => this.isLeader(), deadline);
    }
    if (!this.#wasLeader) {
      this.#wasLeader = true;
      this.#options.logger.info("became the leader", { lease: this.#options.name, identity: this.identity });
      for (const listener of this.#listeners) listener(true);
    }
  }

  #endTerm(): void {
    this.#termStartedAt = undefined;
    const term = this.#term;
    this.#term = undefined;
    if (term) {
      clearTimeout(term.timer);
      term.controller.abort(new Error(`${this.identity} is no longer the leader`));
    }
    if (this.#wasLeader) {
      this.#wasLeader = false;
      this.#options.logger.warn("stopped being the leader", { lease: this.#options.name, identity: this.identity });
      for (const listener of this.#listeners) listener(false);
    }
  }

  /** Gives the Lease up (holder cleared, 1 s duration) so another replica acquires it at once. */
  async #release(): Promise<void> {
    const { client, name, logger } = this.#options;
    const lease = this.#observed?.lease;
    if (lease?.spec?.holderIdentity !== this.identity) return;
    const now = microTime(new Date());
    try {
      await client.update<Lease>(
        `release Lease ${name}`,
        `${this.#path}/${encodeURIComponent(name)}`,
        { ...lease, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, acquireTime: now, renewTime: now } },
        AbortSignal.timeout(this.#timing.renewDeadlineMs),
      );
      logger.info("released the leader Lease", { lease: name, identity: this.identity });
    } catch (err) {
      // Another replica then takes over after the lease duration, as after a crash.
      logger.warn("could not release the leader Lease", { lease: name, identity: this.identity, error: err instanceof Error ? err.message : String(err) });
    }
  }
}

/** metav1.MicroTime's wire form: RFC 3339 with exactly six fractional digits (RFC3339Micro). */
export function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/u, ".$1000Z");
}
