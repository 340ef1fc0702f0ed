import type { CheckResult, ConfigOf, Logger, MetricsRegistry } from "@rds-csi/core";
import { KubeEventRecorder, type KubeClient, type LeaderElector } from "@rds-csi/core/k8s";
import type { RdsClient } from "@rds-csi/core/routeros";
import { InformerClusterView } from "./informer-cluster-view.js";
import { KubeClusterWrites } from "./kube-cluster-writes.js";
import { OrphanAudit } from "./orphan-audit.js";
import { Reconciler } from "./reconciler.js";
import { ReconcilerMetrics } from "./reconciler-metrics.js";
import { ReconcilerQueues } from "./reconciler-queues.js";
import type { ReconcilerSettings } from "./reconciler-settings.js";
import { StorageFence } from "./storage-fence.js";
import { WriteGuard } from "./write-guard.js";

export interface StartReconcilerOptions {
  readonly config: ConfigOf<ReconcilerSettings>;
  readonly kube: KubeClient;
  readonly rds: RdsClient;
  /** not started yet; started and stopped here */
  readonly leader: LeaderElector;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}

export interface RunningReconciler {
  readonly ready: (signal: AbortSignal) => Promise<CheckResult>;
  stop(): Promise<void>;
}

/**
 * Builds the operator from its parts and starts it: informers, leader election, and the work queues
 * of the nodes and the orphan audit (ReconcilerQueues: workers act only on the leader, and only once
 * the informers listed).
 */
export function startReconciler(options: StartReconcilerOptions): RunningReconciler {
  const { config, kube, rds, leader, logger } = options;
  const metrics = new ReconcilerMetrics(options.metrics);
  const view = new InformerClusterView({ client: kube, driverName: config.driverName, logger });
  const isLeader = () => leader.isLeader();
  const guard = new WriteGuard({ dryRun: config.dryRun, isLeader, logger });
  const events = new KubeEventRecorder({ client: kube, component: "rds-csi-attachment-reconciler" });
  const strategies = { taint: config.fenceStrategies.includes("taint"), storage: config.fenceStrategies.includes("storage") };
  const storage = new StorageFence({ rds, hostAccessControl: config.hostAccessControlTrust === "verified", liveConnections: config.hostAccessLiveConnections, guard, logger });
  const reconciler = new Reconciler({
    driverName: config.driverName,
    view,
    writes: new KubeClusterWrites(kube),
    storage,
    strategies,
    guard,
    events,
    metrics,
    logger,
    now: Date.now,
    graceMs: config.failureGrace,
    brakes: { maxFences: config.maxFences, windowMs: config.fenceWindow, maxFailedShare: config.maxFailedPercent / 100 },
    finalizerTimeoutMs: config.finalizerTimeout,
    stabilizationMs: config.stabilization,
  });
  const audit = new OrphanAudit({
    rds,
    persistentVolumes: () => view.persistentVolumes(),
    attachments: () => view.attachments(),
    diskDeletion: config.orphanDiskDeletion,
    minAgeMs: config.orphanMinAge,
    guard,
    events,
    metrics,
    logger,
    now: Date.now,
  });
  const queues = new ReconcilerQueues({
    reconciler,
    audit,
    events: view,
    leader,
    resyncIntervalMs: config.reconcileInterval,
    auditIntervalMs: config.orphanAuditInterval,
    logger,
  });
  leader.onChange((leading) => {
    metrics.leader(leading);
    logger.info(leading ? "leading: this replica acts" : "not leading: this replica stands by", { identity: leader.identity });
    if (leading) queues.leading();
  });
  view.start();
  leader.start();
  queues.start();
  logger.info("reconciler started", { strategies: config.fenceStrategies, storage_fencing_available: storage.available, dry_run: config.dryRun });
  return {
    async ready() {
      const informers = view.check();
      if (!informers.ok) return informers;
      const status = leader.status();
      return { ok: true, detail: status.leader ? "leader" : `standby (leader: ${status.holder ?? "none yet"})` };
    },
    async stop() {
      // Released first, so the other replica takes over at once instead of after the lease expires.
      await leader.stop();
      await queues.stop();
      await view.stop();
    },
  };
}
