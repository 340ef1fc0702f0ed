import { hostname } from "node:os";
import { boolSetting, commonSettings, durationSetting, enumSetting, intSetting, listSetting, stringSetting, type Setting } from "@rds-csi/core";
import { kubeConfigSetting } from "@rds-csi/core/k8s";
import { rdsConnectionSettings, volumeLayoutSettings } from "@rds-csi/core/routeros";

export const FENCE_STRATEGIES = ["taint", "storage"] as const;
export type FenceStrategy = (typeof FENCE_STRATEGIES)[number];

/** A duration that must be positive: a zero grace period or interval would fence or spin at once. */
function positiveDuration(info: Parameters<typeof durationSetting>[0]): Setting<number> {
  const base = durationSetting(info);
  return {
    ...base,
    parse(raw) {
      const value = base.parse(raw);
      if (value <= 0) throw new Error("must be longer than 0");
      return value;
    },
  };
}

/** Every setting of rds-csi-attachment-reconciler (docs/reconciler.md describes them). */
export function reconcilerSettings() {
  return {
    ...commonSettings({ endpoint: "unix:///run/rds-csi/reconciler.sock", metricsPort: 9811 }),
    ...rdsConnectionSettings(),
    ...volumeLayoutSettings(),
    kubeConfig: kubeConfigSetting(),
    dryRun: boolSetting({
      flag: "dry-run",
      env: "DRY_RUN",
      description: "log every write (taint, annotation, VolumeAttachment, finalizer, allow-list, event, disk) instead of making it",
      default: false,
    }),
    failureGrace: positiveDuration({
      flag: "failure-grace",
      env: "FAILURE_GRACE",
      description: "a node not Ready whose Lease this reconciler has not seen renewed for longer than this is failed",
      default: 60_000,
    }),
    fenceStrategies: {
      flag: "fence-strategies",
      env: "FENCE_STRATEGIES",
      description: "how a failed node is fenced: taint (node.kubernetes.io/out-of-service), storage (revoke its host NQN on the RDS exports), or both",
      default: FENCE_STRATEGIES,
      hint: "list",
      parse(raw: string): readonly FenceStrategy[] {
        const items = listSetting({ flag: "fence-strategies", env: "FENCE_STRATEGIES", description: "" }).parse(raw);
        if (items.length === 0) throw new Error("must name at least one of taint, storage");
        for (const item of items) if (!(FENCE_STRATEGIES as readonly string[]).includes(item)) throw new Error(`has ${JSON.stringify(item)}; must be taint, storage or both`);
        return Object.freeze([...new Set(items)] as FenceStrategy[]);
      },
      format: (strategies: readonly FenceStrategy[]): string => strategies.join(","),
    } satisfies Setting<readonly FenceStrategy[]>,
    hostAccessControlTrust: enumSetting({
      flag: "host-access-control-trust",
      env: "HOST_ACCESS_CONTROL_TRUST",
      description:
        "the controller's setting: verified only after rds-csi-node selfcheck proved that nvme-tcp-server-allow-host-name limits who connects; storage fencing needs it",
      default: "unverified",
      values: ["unverified", "verified"] as const,
    }),
    hostAccessLiveConnections: enumSetting({
      flag: "host-access-live-connections",
      env: "HOST_ACCESS_LIVE_CONNECTIONS",
      description:
        "what the self-check found for a live connection whose host left the allow-list (dropped, kept); only dropped lets a storage fence count as cutting the node off",
      default: "unknown",
      values: ["unknown", "kept", "dropped"] as const,
    }),
    maxFences: intSetting({ flag: "max-fences", env: "MAX_FENCES", description: "at most this many nodes are fenced within --fence-window", default: 3, min: 1, max: 1000 }),
    fenceWindow: positiveDuration({ flag: "fence-window", env: "FENCE_WINDOW", description: "the window --max-fences counts in", default: 600_000 }),
    maxFailedPercent: intSetting({
      flag: "max-failed-percent",
      env: "MAX_FAILED_PERCENT",
      description: "when more than this percentage of nodes look failed at once, nothing is fenced (the reconciler itself may be the one cut off)",
      default: 50,
      min: 0,
      max: 100,
    }),
    finalizerTimeout: positiveDuration({
      flag: "finalizer-timeout",
      env: "FINALIZER_TIMEOUT",
      description: "a VolumeAttachment of a storage-fenced node still being deleted after this long loses the external-attacher's finalizer",
      default: 300_000,
    }),
    stabilization: positiveDuration({
      flag: "stabilization",
      env: "STABILIZATION",
      description: "a fenced node must be Ready with a fresh Lease this long (and report its clean-up) before it is unfenced",
      default: 120_000,
    }),
    reconcileInterval: positiveDuration({ flag: "reconcile-interval", env: "RECONCILE_INTERVAL", description: "how often every node is queued for a look (a change queues its node at once)", default: 5_000 }),
    orphanAuditInterval: positiveDuration({ flag: "orphan-audit-interval", env: "ORPHAN_AUDIT_INTERVAL", description: "how often the RDS and the cluster are compared for orphans", default: 600_000 }),
    orphanDiskDeletion: enumSetting({
      flag: "orphan-disk-deletion",
      env: "ORPHAN_DISK_DELETION",
      description: "what happens to a disk with no PV seen for --orphan-min-age: off (report only), dry-run (log the deletion), enabled (delete it)",
      default: "dry-run",
      values: ["off", "dry-run", "enabled"] as const,
    }),
    orphanMinAge: positiveDuration({ flag: "orphan-min-age", env: "ORPHAN_MIN_AGE", description: "how long a disk must be seen without a PV before it may be deleted", default: 86_400_000 }),
    leaderElectionNamespace: stringSetting({
      flag: "leader-election-namespace",
      env: "POD_NAMESPACE",
      description: "namespace of the leader Lease (the reconciler's own)",
      default: "kube-system",
    }),
    leaderElectionIdentity: stringSetting({
      flag: "leader-election-identity",
      env: "POD_NAME",
      description: "this replica's name in the leader Lease",
      default: hostname(),
    }),
    leaseDuration: positiveDuration({ flag: "leader-lease-duration", env: "LEADER_LEASE_DURATION", description: "how long a leader Lease holds without renewal", default: 15_000 }),
    renewDeadline: positiveDuration({ flag: "leader-renew-deadline", env: "LEADER_RENEW_DEADLINE", description: "a leader that cannot renew within this stops acting", default: 10_000 }),
    retryPeriod: positiveDuration({ flag: "leader-retry-period", env: "LEADER_RETRY_PERIOD", description: "how often the Lease is renewed or tried", default: 2_000 }),
  };
}

export type ReconcilerSettings = ReturnType<typeof reconcilerSettings>;
