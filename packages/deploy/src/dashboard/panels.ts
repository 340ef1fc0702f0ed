/**
 * The dashboard's panels as data: title, unit, kind and PromQL. The dashboard builder turns them into
 * Grafana panels, and the live-metrics test runs every query against a real Prometheus scraping the
 * running services, so a panel cannot show a metric the code does not export.
 */
export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly kind: "stat" | "timeseries";
  readonly unit: string;
  /** one query per series group; `{{label}}` legends */
  readonly queries: readonly { readonly expr: string; readonly legend: string }[];
}

export interface RowSpec {
  readonly title: string;
  readonly component: "controller" | "node" | "reconciler";
  readonly panels: readonly PanelSpec[];
}

/** `$namespace` is the dashboard variable; `$__rate_interval` Grafana's rate window. */
const NS = 'namespace=~"$namespace"';

export const DASHBOARD_ROWS: readonly RowSpec[] = [
  {
    title: "Controller",
    component: "controller",
    panels: [
      {
        title: "RDS SSH connection",
        description: "1 while a controller's SSH connection to the RDS is up (alert RdsCsiRdsUnreachable).",
        kind: "stat",
        unit: "none",
        queries: [{ expr: `max by (pod) (rds_csi_routeros_connection_up{${NS}})`, legend: "{{pod}}" }],
      },
      {
        title: "Volumes on the RDS",
        description: "This driver's volumes under the base path, as the controller last read them.",
        kind: "stat",
        unit: "none",
        queries: [{ expr: `max(rds_csi_controller_volumes_on_rds{${NS}})`, legend: "volumes" }],
      },
      {
        title: "Pool capacity",
        description: "Size and free space of the RDS pool the volumes live in.",
        kind: "timeseries",
        unit: "bytes",
        queries: [{ expr: `max by (kind) (rds_csi_controller_capacity_bytes{${NS}})`, legend: "{{kind}}" }],
      },
      {
        title: "Controller calls by code",
        description: "CSI Controller calls per second by method and gRPC code (alert RdsCsiControllerRpcErrors).",
        kind: "timeseries",
        unit: "reqps",
        queries: [{ expr: `sum by (method, code) (rate(rds_csi_grpc_requests_total{${NS}, service="csi.v1.Controller"}[$__rate_interval]))`, legend: "{{method}} {{code}}" }],
      },
      {
        title: "Controller call latency (p95)",
        description: "95th percentile time to answer a CSI Controller call, by method.",
        kind: "timeseries",
        unit: "s",
        queries: [
          {
            expr: `histogram_quantile(0.95, sum by (le, method) (rate(rds_csi_grpc_request_duration_seconds_bucket{${NS}, service="csi.v1.Controller"}[$__rate_interval])))`,
            legend: "{{method}}",
          },
        ],
      },
      {
        title: "RouterOS commands",
        description: "RouterOS commands per second by verb and outcome.",
        kind: "timeseries",
        unit: "ops",
        queries: [{ expr: `sum by (verb, outcome) (rate(rds_csi_routeros_commands_total{${NS}}[$__rate_interval]))`, legend: "{{verb}} {{outcome}}" }],
      },
      {
        title: "RouterOS command latency (p95)",
        description: "95th percentile time from sending a command to its classified reply, by verb.",
        kind: "timeseries",
        unit: "s",
        queries: [
          { expr: `histogram_quantile(0.95, sum by (le, verb) (rate(rds_csi_routeros_command_duration_seconds_bucket{${NS}}[$__rate_interval])))`, legend: "{{verb}}" },
        ],
      },
      {
        title: "Attach conflicts and migrations",
        description: "ControllerPublish refusals because another node holds the volume, and RWX block volumes attached to two nodes.",
        kind: "timeseries",
        unit: "none",
        queries: [
          { expr: `sum by (reason) (increase(rds_csi_controller_attach_conflicts_total{${NS}}[$__rate_interval]))`, legend: "conflict {{reason}}" },
          { expr: `sum(rds_csi_controller_migrations_in_progress{${NS}})`, legend: "migrations in progress" },
        ],
      },
    ],
  },
  {
    title: "Node plugins",
    component: "node",
    panels: [
      {
        title: "NVMe/TCP controllers per node",
        description: "Live NVMe controllers of this driver on each node.",
        kind: "timeseries",
        unit: "none",
        queries: [{ expr: `sum by (pod) (rds_csi_node_nvme_controllers{${NS}})`, legend: "{{pod}}" }],
      },
      {
        title: "Node calls by code",
        description: "CSI Node calls per second by method and gRPC code.",
        kind: "timeseries",
        unit: "reqps",
        queries: [{ expr: `sum by (method, code) (rate(rds_csi_grpc_requests_total{${NS}, service="csi.v1.Node"}[$__rate_interval]))`, legend: "{{method}} {{code}}" }],
      },
      {
        title: "Stage time by phase (p95)",
        description: "95th percentile time NodeStageVolume spent in each step.",
        kind: "timeseries",
        unit: "s",
        queries: [
          { expr: `histogram_quantile(0.95, sum by (le, phase) (rate(rds_csi_node_stage_phase_duration_seconds_bucket{${NS}}[$__rate_interval])))`, legend: "{{phase}}" },
        ],
      },
      {
        title: "Stale-mount recoveries",
        description: "Stale mounts found and how their recovery ended, and lost-controller reconnects (alert RdsCsiStaleMountsNotRecovering).",
        kind: "timeseries",
        unit: "none",
        queries: [
          { expr: `sum by (kind) (increase(rds_csi_node_stale_mounts_detected_total{${NS}}[$__rate_interval]))`, legend: "detected {{kind}}" },
          { expr: `sum by (kind, outcome) (increase(rds_csi_node_stale_mount_recoveries_total{${NS}}[$__rate_interval]))`, legend: "{{kind}} {{outcome}}" },
          { expr: `sum by (outcome) (increase(rds_csi_node_lost_controller_reconnects_total{${NS}}[$__rate_interval]))`, legend: "reconnect {{outcome}}" },
        ],
      },
      {
        title: "Formats",
        description: "mkfs runs during NodeStageVolume by filesystem and outcome.",
        kind: "timeseries",
        unit: "none",
        queries: [{ expr: `sum by (fs_type, outcome) (increase(rds_csi_node_format_operations_total{${NS}}[$__rate_interval]))`, legend: "{{fs_type}} {{outcome}}" }],
      },
      {
        title: "Memory per pod",
        description: "Resident memory of every rds-csi process.",
        kind: "timeseries",
        unit: "bytes",
        queries: [{ expr: `max by (pod) (rds_csi_process_resident_memory_bytes{${NS}})`, legend: "{{pod}}" }],
      },
    ],
  },
  {
    title: "Attachment reconciler",
    component: "reconciler",
    panels: [
      {
        title: "Leader",
        description: "Replicas holding the leader Lease: exactly one should (alert RdsCsiReconcilerNoLeader).",
        kind: "stat",
        unit: "none",
        queries: [{ expr: `sum(rds_csi_reconciler_leader{${NS}})`, legend: "leaders" }],
      },
      {
        title: "Storage-side fencing available",
        description: "1 when host access control is verified on the RDS, so fences revoke the node's access too.",
        kind: "stat",
        unit: "none",
        queries: [{ expr: `max(rds_csi_reconciler_storage_fencing_available{${NS}})`, legend: "available" }],
      },
      {
        title: "Nodes by state",
        description: "Nodes as the leader sees them: healthy, suspect, failed, fenced, recovering.",
        kind: "timeseries",
        unit: "none",
        queries: [{ expr: `max by (state) (rds_csi_reconciler_nodes{${NS}})`, legend: "{{state}}" }],
      },
      {
        title: "Fences",
        description: "Fence steps by strategy and result, and whether a safety brake holds fencing back (alerts RdsCsiNodeFenced, RdsCsiFencingUnavailable).",
        kind: "timeseries",
        unit: "none",
        queries: [
          { expr: `sum by (strategy, result) (increase(rds_csi_reconciler_fences_total{${NS}}[$__rate_interval]))`, legend: "{{strategy}} {{result}}" },
          { expr: `max by (reason) (rds_csi_reconciler_fencing_paused{${NS}})`, legend: "paused {{reason}}" },
        ],
      },
      {
        title: "Failover time (p95)",
        description: "From a node's failure being detected to its fence being done, and to one of its volumes attached elsewhere.",
        kind: "timeseries",
        unit: "s",
        queries: [
          { expr: `histogram_quantile(0.95, sum by (le) (rate(rds_csi_reconciler_fence_duration_seconds_bucket{${NS}}[$__rate_interval])))`, legend: "fence" },
          { expr: `histogram_quantile(0.95, sum by (le) (rate(rds_csi_reconciler_failover_seconds_bucket{${NS}}[$__rate_interval])))`, legend: "failover" },
        ],
      },
      {
        title: "Clean-up and orphans",
        description: "VolumeAttachments freed, finalizers removed as a last resort, and orphans the last audit found (alert RdsCsiOrphansFound).",
        kind: "timeseries",
        unit: "none",
        queries: [
          { expr: `sum(increase(rds_csi_reconciler_volume_attachments_freed_total{${NS}}[$__rate_interval]))`, legend: "attachments freed" },
          { expr: `sum(increase(rds_csi_reconciler_finalizers_removed_total{${NS}}[$__rate_interval]))`, legend: "finalizers removed" },
          { expr: `max by (kind) (rds_csi_reconciler_orphans{${NS}})`, legend: "orphans {{kind}}" },
        ],
      },
    ],
  },
];
