import type { SelfCheckReport } from "./storage-self-check.js";
import type { StepRecord } from "./step-log.js";
import { describeCopy, describeLiveConnections, describeNewConnections } from "./verdicts.js";

/** What the check ran against, for the report's header. */
export interface SelfCheckTarget {
  readonly rdsAddress: string;
  readonly rdsSshPort: number;
  readonly basePath: string;
}

export function renderJson(target: SelfCheckTarget, report: SelfCheckReport): string {
  return `${JSON.stringify({ rds: target, ...report }, null, 2)}\n`;
}

export function renderTable(target: SelfCheckTarget, report: SelfCheckReport): string {
  const lines = [`Storage self-check of the RDS at ${target.rdsAddress}:${target.rdsSshPort} (base path ${target.basePath}), as NVMe host ${report.hostNqn}`, ""];
  lines.push(...table(["STEP", "RESULT", "TIME", "DETAIL"], report.steps.map(stepRow)), "");
  if (report.verdicts) {
    const { copy, hostAccess } = report.verdicts;
    lines.push(
      ...table(
        ["CAPABILITY", "VERDICT"],
        [
          [`data copy via snapshot + restore (${copy.strategy})`, describeCopy(copy.snapshotRestore)],
          [`data copy via clone (${copy.strategy})`, describeCopy(copy.clone)],
          ["host access control: new connection of a host not allowed", describeNewConnections(hostAccess.newConnections)],
          ["host access control: live connection of a host no longer allowed", describeLiveConnections(hostAccess.liveConnections)],
        ],
      ),
      "",
      "Controller settings these results call for:",
    );
    for (const advice of report.advice) lines.push(`  ${advice.setting}: ${advice.value}`, `      ${advice.reason}`);
  } else {
    lines.push(`The check could not run: ${report.problem ?? "unknown reason"}`);
  }
  if (report.leftovers.length > 0) {
    lines.push("", `Not cleaned up (the next run removes them): ${report.leftovers.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}

/** One line per step as it finishes, for the operator watching a run. */
export function renderProgress(record: StepRecord): string {
  return `${stepRow(record).join("  ")}\n`;
}

function stepRow(record: StepRecord): string[] {
  return [record.name, record.outcome, `${(record.durationMs / 1000).toFixed(1)}s`, record.detail ?? ""];
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)];
}
