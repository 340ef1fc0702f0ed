import type { MetricsRegistry } from "@rds-csi/core";
import type { ConflictReason } from "./publish-decision.js";

/** The arbiter's metrics; labels are bounded (a conflict reason), never a volume or node id. */
export class PublishMetrics {
  readonly #conflicts: { inc(labels: { reason: ConflictReason }): void };
  readonly #overdue: { inc(): void };

  /** `migrationsInProgress` is read at every scrape, so the gauge is never stale. */
  constructor(registry: MetricsRegistry, migrationsInProgress: () => number) {
    this.#conflicts = registry.counter({
      name: "controller_attach_conflicts_total",
      help: "ControllerPublish calls refused because other nodes hold the volume (single_node, migration_limit), the node has as many volumes as it takes (node_limit) or the node is fenced (node_fenced)",
      labelNames: ["reason"],
    });
    this.#overdue = registry.counter({
      name: "controller_migrations_overdue_total",
      help: "live migrations that kept a volume on two nodes longer than its migration window (reported once each)",
    });
    registry.gauge({
      name: "controller_migrations_in_progress",
      help: "RWX block volumes attached to two nodes right now (a KubeVirt live migration)",
      collect() {
        this.set(migrationsInProgress());
      },
    });
  }

  conflict(reason: ConflictReason): void {
    this.#conflicts.inc({ reason });
  }

  migrationOverdue(): void {
    this.#overdue.inc();
  }
}
