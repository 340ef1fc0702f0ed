import type { BenchReport, Distribution } from "../latency-stats.js";
import { latencyStats, type LatencyStats } from "../latency-stats.js";
import { summarizeFigure, type FigureSummary } from "./figure.js";

/** One benchmark module's outcome in the results file. */
export interface BenchOutcome {
  /** The compiled file, relative to the repository. */
  readonly bench: string;
  readonly seconds: number;
  readonly lines: readonly string[];
  readonly figures: readonly FigureSummary[];
  readonly distributions: readonly (Distribution & { readonly stats: LatencyStats })[];
  readonly missedTargets: readonly string[];
  /** Set when the benchmark threw instead of reporting. */
  readonly error?: string;
}

/** What `pnpm bench` writes to bench/results/<date>.json. */
export interface BenchResults {
  readonly date: string;
  readonly machine: { readonly cpus: number; readonly loadAverage: readonly number[]; readonly node: string };
  readonly outcomes: readonly BenchOutcome[];
  /** True when every figure with a target met it and no benchmark reported a failure. */
  readonly passed: boolean;
}

export function benchOutcome(bench: string, seconds: number, report: BenchReport): BenchOutcome {
  return {
    bench,
    seconds,
    lines: report.lines,
    figures: (report.figures ?? []).map(summarizeFigure),
    distributions: (report.distributions ?? []).map((distribution) => ({ ...distribution, stats: latencyStats(distribution.samplesMs) })),
    missedTargets: report.missedTargets ?? [],
  };
}

export function failedOutcome(bench: string, seconds: number, error: unknown): BenchOutcome {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { bench, seconds, lines: [], figures: [], distributions: [], missedTargets: [`the benchmark failed: ${message.split("\n")[0]}`], error: message };
}

/** Why the run fails: every missed figure target and every reported failure, in report order. */
export function failures(outcomes: readonly BenchOutcome[]): string[] {
  return outcomes.flatMap((outcome) => [
    ...outcome.figures.filter((figure) => figure.target?.met === false).map((figure) => `${figure.label}: median ${formatValue(figure.median, figure.unit)}, target ${figure.target!.description} (bound ${formatValue(figure.target!.bound, figure.unit)})`),
    ...outcome.missedTargets,
  ]);
}

export function formatValue(value: number, unit: FigureSummary["unit"]): string {
  switch (unit) {
    case "ms":
      return `${value.toFixed(1)} ms`;
    case "s":
      return `${value.toFixed(2)} s`;
    case "MB":
      return `${value.toFixed(1)} MB`;
    case "ratio":
      return `${value.toFixed(3)}`;
  }
}
