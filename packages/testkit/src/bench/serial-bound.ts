import type { CommandLogEntry } from "@rds-csi/rds-simulator";

/**
 * The RDS's serial bound as measured in the same run: the simulator runs mutating commands one at a
 * time, so the sum of the time it spent on each (from leaving the queue to finishing: its configured
 * latency plus its own work) is the least any client could take for them.
 */
export function serialBusyMs(log: readonly CommandLogEntry[]): { readonly mutations: number; readonly busyMs: number } {
  const mutations = log.filter(isMutating);
  return { mutations: mutations.length, busyMs: mutations.reduce((sum, entry) => sum + Date.parse(entry.finishedAt) - Date.parse(entry.startedAt), 0) };
}

/** Read-only commands are `print`s; everything else goes through the RDS's one-at-a-time queue. */
export function isMutating(entry: CommandLogEntry): boolean {
  return !entry.command.split(/\s+/u).includes("print");
}
