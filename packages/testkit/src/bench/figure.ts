/**
 * One measured figure of a benchmark: a value per round, and optionally the target it must meet.
 * Each round carries its own bound, measured in the same round (the simulator's busy time, the node's
 * external tools timed beside the plugin), so a machine that is slow for a moment moves value and bound
 * together. The verdict is taken on the median round: one noisy round cannot fail the run.
 */
export interface Figure {
  /** Stable key for the results file, e.g. `controller.create_p99_x100`. */
  readonly id: string;
  /** What a reader sees in the report. */
  readonly label: string;
  readonly unit: "ms" | "s" | "MB" | "ratio";
  /** The figure in each round. */
  readonly rounds: readonly number[];
  readonly target?: Target;
}

/** `value <= bound` (or `<` when `strict`), with the bound either fixed or measured per round. */
export interface Target {
  /** The bound of each round (same length as `rounds`), or one fixed bound for all. */
  readonly bound: number | readonly number[];
  readonly strict?: boolean;
  /** How the bound is made, e.g. `serial bound + 50 ms` or `< 120 MB`. */
  readonly description: string;
}

export interface FigureSummary {
  readonly id: string;
  readonly label: string;
  readonly unit: Figure["unit"];
  readonly rounds: readonly number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly target?: {
    readonly description: string;
    /** Median of the per-round bounds. */
    readonly bound: number;
    /** Median of value / bound over the rounds: below 1 means met. */
    readonly ratio: number;
    readonly met: boolean;
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarizeFigure(figure: Figure): FigureSummary {
  const { rounds } = figure;
  if (rounds.length === 0) throw new Error(`figure ${figure.id} has no rounds`);
  const summary = { id: figure.id, label: figure.label, unit: figure.unit, rounds, median: median(rounds), min: Math.min(...rounds), max: Math.max(...rounds) };
  if (figure.target === undefined) return summary;
  const { bound, strict = false, description } = figure.target;
  const bounds = typeof bound === "number" ? rounds.map(() => bound) : bound;
  if (bounds.length !== rounds.length) throw new Error(`figure ${figure.id}: ${rounds.length} rounds but ${bounds.length} bounds`);
  const ratio = median(rounds.map((value, i) => value / bounds[i]!));
  return { ...summary, target: { description, bound: median(bounds), ratio, met: strict ? ratio < 1 : ratio <= 1 } };
}
