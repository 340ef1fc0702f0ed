import { failures, formatValue, type BenchResults } from "./bench-results.js";

/**
 * The report a reader opens: one table of every figure (median of its rounds, the spread, the target
 * and the ratio to its bound), then each benchmark's own lines, then the chart.
 */
export function renderMarkdown(results: BenchResults, chartFile: string): string {
  const out: string[] = [
    `# rds-csi benchmarks — ${results.date}`,
    "",
    `${results.machine.cpus} cores, load average ${results.machine.loadAverage.map((load) => load.toFixed(2)).join(" / ")} at the start, Node ${results.machine.node}. ` +
      "Each figure is the median of its rounds; the spread is the lowest and highest round. A bound measured in the same round " +
      "(the simulator's busy time, the node's external tools) is compared round by round and the median ratio decides.",
    "",
    `**${results.passed ? "Every target met." : "Targets missed."}**`,
    "",
    "| figure | median | spread (rounds) | target | bound | ratio to bound | met |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const outcome of results.outcomes) {
    for (const figure of outcome.figures) {
      const spread = `${formatValue(figure.min, figure.unit)} – ${formatValue(figure.max, figure.unit)} (${figure.rounds.length})`;
      const target = figure.target;
      out.push(
        `| ${figure.label} | ${formatValue(figure.median, figure.unit)} | ${spread} | ${target?.description ?? "—"} | ` +
          `${target === undefined ? "—" : formatValue(target.bound, figure.unit)} | ${target === undefined ? "—" : target.ratio.toFixed(3)} | ${target === undefined ? "—" : target.met ? "yes" : "**no**"} |`,
      );
    }
  }
  const missed = failures(results.outcomes);
  if (missed.length > 0) out.push("", "## Missed", "", ...missed.map((miss) => `- ${miss}`));
  out.push("", `![latency distributions](${chartFile})`);
  for (const outcome of results.outcomes) {
    out.push("", `## ${outcome.bench} (${outcome.seconds.toFixed(0)} s)`, "", "```", ...outcome.lines, ...(outcome.error === undefined ? [] : [outcome.error]), "```");
  }
  return `${out.join("\n")}\n`;
}
