import type { Figure } from "./bench/figure.js";

/** Summary of a benchmark's latency samples, in milliseconds. */
export interface LatencyStats {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function latencyStats(samplesMs: readonly number[]): LatencyStats {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN };
}

export function formatStats(stats: LatencyStats): string {
  return `n=${stats.count} p50=${stats.p50.toFixed(2)}ms p99=${stats.p99.toFixed(2)}ms max=${stats.max.toFixed(2)}ms`;
}

/** What a `*.bench.js` module's `run()` returns to scripts/bench.js. */
export interface BenchReport {
  /** Free-form detail printed under the benchmark's heading. */
  readonly lines: readonly string[];
  /** The figures with their targets: the report and the exit code are computed from these. */
  readonly figures?: readonly Figure[];
  /** Latency samples drawn in the report's chart. */
  readonly distributions?: readonly Distribution[];
  /** Failures that are not a figure (a leak, a wrong result): each one fails the run. */
  readonly missedTargets?: readonly string[];
}

/** Latency samples of one operation, for the chart. */
export interface Distribution {
  readonly label: string;
  readonly samplesMs: readonly number[];
}
