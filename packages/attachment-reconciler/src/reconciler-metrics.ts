import type { MetricsRegistry } from "@rds-csi/core";
import type { StrategyResult } from "./fence-record.js";

export const NODE_STATES = ["healthy", "suspect", "failed", "fenced", "recovering"] as const;
export type NodeState = (typeof NODE_STATES)[number];
export const ORPHAN_KINDS = ["disk_without_pv", "pv_without_disk", "va_without_pv", "file_without_disk"] as const;
export type OrphanKind = (typeof ORPHAN_KINDS)[number];
export type PauseReason = "mass_failure" | "rate_limit";

// Failover and fence latencies: the grace period dominates (60 s by default), so buckets span it.
const LATENCY_BUCKETS = [1, 5, 15, 30, 45, 60, 75, 90, 120, 180, 300, 600];

/**
 * Every metric of the reconciler (docs/metrics.md lists them; the chart's alerts and dashboards use
 * these names). Labels are bounded sets, never a node or volume name.
 */
export class ReconcilerMetrics {
  readonly #leader;
  readonly #nodes;
  readonly #fences;
  readonly #storageAvailable;
  readonly #fenceDuration;
  readonly #failover;
  readonly #freed;
  readonly #finalizers;
  readonly #orphans;
  readonly #paused;

  constructor(registry: MetricsRegistry) {
    this.#leader = registry.gauge({ name: "reconciler_leader", help: "1 while this replica holds the leader Lease and acts, 0 otherwise" });
    this.#nodes = registry.gauge({ name: "reconciler_nodes", help: "nodes by state (healthy, suspect, failed, fenced, recovering), as the leader sees them", labelNames: ["state"] });
    this.#fences = registry.counter({
      name: "reconciler_fences_total",
      help: "fence steps by strategy (taint, storage) and result (success, failed, unavailable, dry_run)",
      labelNames: ["strategy", "result"],
    });
    this.#storageAvailable = registry.gauge({
      name: "reconciler_storage_fencing_available",
      help: "1 when storage-side fencing can be used (host access control verified on this RDS), 0 when fences use the taint alone",
    });
    this.#fenceDuration = registry.histogram({ name: "reconciler_fence_duration_seconds", help: "from a node's failure being detected to its fence being done", buckets: LATENCY_BUCKETS });
    this.#failover = registry.histogram({
      name: "reconciler_failover_seconds",
      help: "from a node's failure being detected to one of its volumes being attached to another node",
      buckets: LATENCY_BUCKETS,
    });
    this.#freed = registry.counter({ name: "reconciler_volume_attachments_freed_total", help: "VolumeAttachments of fenced or deleted nodes the reconciler deleted" });
    this.#finalizers = registry.counter({
      name: "reconciler_finalizers_removed_total",
      help: "external-attacher finalizers removed as a last resort from VolumeAttachments stuck on storage-fenced nodes",
    });
    this.#orphans = registry.gauge({ name: "reconciler_orphans", help: "orphans found by the last audit, by kind", labelNames: ["kind"] });
    this.#paused = registry.gauge({
      name: "reconciler_fencing_paused",
      help: "1 while fencing is held back by a safety brake (mass_failure: too many nodes look failed at once; rate_limit: too many fences in the window)",
      labelNames: ["reason"],
    });
    this.#leader.set(0);
    for (const state of NODE_STATES) this.#nodes.set({ state }, 0);
    for (const kind of ORPHAN_KINDS) this.#orphans.set({ kind }, 0);
    for (const reason of ["mass_failure", "rate_limit"] as const) this.#paused.set({ reason }, 0);
  }

  leader(isLeader: boolean): void {
    this.#leader.set(isLeader ? 1 : 0);
  }

  nodeStates(counts: Readonly<Record<NodeState, number>>): void {
    for (const state of NODE_STATES) this.#nodes.set({ state }, counts[state]);
  }

  fence(strategy: "taint" | "storage", result: StrategyResult): void {
    this.#fences.inc({ strategy, result });
  }

  storageFencingAvailable(available: boolean): void {
    this.#storageAvailable.set(available ? 1 : 0);
  }

  fenceDone(seconds: number): void {
    this.#fenceDuration.observe(seconds);
  }

  failover(seconds: number): void {
    this.#failover.observe(seconds);
  }

  attachmentFreed(): void {
    this.#freed.inc();
  }

  finalizerRemoved(): void {
    this.#finalizers.inc();
  }

  orphans(counts: Readonly<Record<OrphanKind, number>>): void {
    for (const kind of ORPHAN_KINDS) this.#orphans.set({ kind }, counts[kind]);
  }

  paused(reason: PauseReason | undefined): void {
    for (const each of ["mass_failure", "rate_limit"] as const) this.#paused.set({ reason: each }, each === reason ? 1 : 0);
  }
}
