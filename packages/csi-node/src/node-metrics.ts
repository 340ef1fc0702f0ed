import type { MetricsRegistry } from "@rds-csi/core";
import type { Sysfs } from "./nvme/sysfs.js";
import { registerStageMetrics, type StageRecorder } from "./stage-metrics.js";

export interface NodeMetrics {
  readonly nvmeControllers: ReturnType<MetricsRegistry["gauge"]>;
  readonly stage: StageRecorder;
}

/** Live NVMe controllers of subsystems with the managed prefix, read from sysfs (never the host's own). */
export async function countManagedControllers(sysfs: Sysfs, managedNqnPrefix: string): Promise<number> {
  if (managedNqnPrefix === "") return 0;
  let count = 0;
  for (const name of await sysfs.list("class/nvme")) {
    const nqn = await sysfs.read(`class/nvme/${name}/subsysnqn`);
    if (nqn === undefined || !nqn.startsWith(managedNqnPrefix)) continue;
    if ((await sysfs.read(`class/nvme/${name}/state`)) === "live") count++;
  }
  return count;
}

/** The node plugin's own metrics; computed at scrape time where the truth is in sysfs. */
export function registerNodeMetrics(metrics: MetricsRegistry, sysfs: Sysfs, managedNqnPrefix: string): NodeMetrics {
  const nvmeControllers = metrics.gauge({
    name: "node_nvme_controllers",
    help: "Live NVMe controllers of this driver's subsystems (managed NQN prefix) on this node, from sysfs at scrape time.",
    async collect() {
      this.set(await countManagedControllers(sysfs, managedNqnPrefix));
    },
  });
  return { nvmeControllers, stage: registerStageMetrics(metrics) };
}

/** What a stale mount was (a filesystem staging or a block volume) and what recovery made of it. */
export type StaleMountKind = "filesystem" | "block";
export type StaleMountOutcome = "recovered" | "failed" | "refused";

/**
 * How a reconnect of a staged volume whose controller the kernel deleted ended: connected (the same
 * namespace is back), failed (the RDS did not answer, or the namespace did not appear; retried),
 * refused (this node's host NQN is not the staged one, or the namespace's UUID is not: never mounted).
 */
export type ReconnectOutcome = "connected" | "failed" | "refused";

/** Counts stale-mount recoveries; the recovery code depends on this, not on prom-client. */
export interface StaleMountCounters {
  detected(kind: StaleMountKind): void;
  finished(kind: StaleMountKind, outcome: StaleMountOutcome): void;
  reconnected(outcome: ReconnectOutcome): void;
  /** A controller a NodeUnstage (or a failed NodeStage) had to leave connected, disconnected once unused. */
  keptControllerDisconnected(): void;
}

export function registerStaleMountMetrics(metrics: MetricsRegistry): StaleMountCounters {
  const detected = metrics.counter<"kind">({
    name: "node_stale_mounts_detected_total",
    help: "Recovery runs (stale-mount watcher or a retried NodeStage) that found a volume whose device is no longer the one its NQN resolves to.",
    labelNames: ["kind"],
  });
  const recoveries = metrics.counter<"kind" | "outcome">({
    name: "node_stale_mount_recoveries_total",
    help: "Ends of those runs: recovered (moved onto the current device), failed (retried later), refused (the namespace UUID differs).",
    labelNames: ["kind", "outcome"],
  });
  const reconnects = metrics.counter<"outcome">({
    name: "node_lost_controller_reconnects_total",
    help: "Reconnects of staged volumes whose NVMe controller the kernel deleted (ctrl_loss_tmo expired): connected, failed (retried with backoff), refused (host NQN or namespace UUID differs).",
    labelNames: ["outcome"],
  });
  const keptDisconnects = metrics.counter({
    name: "node_kept_controller_disconnects_total",
    help: "NVMe controllers of this driver that NodeUnstage (or the undo of a failed NodeStage) left connected because the device was still in use, disconnected by the stale-mount watcher once nothing used it.",
  });
  return {
    detected: (kind) => detected.inc({ kind }),
    finished: (kind, outcome) => recoveries.inc({ kind, outcome }),
    reconnected: (outcome) => reconnects.inc({ outcome }),
    keptControllerDisconnected: () => keptDisconnects.inc(),
  };
}
