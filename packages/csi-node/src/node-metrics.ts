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
