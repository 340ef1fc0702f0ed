import { FailedPreconditionError, type FsType, type MetricsRegistry } from "@rds-csi/core";

/**
 * The steps NodeStageVolume spends its time in, in the order it takes them. A fixed set, so the
 * `phase` label stays bounded. `live_check` and `recover` run only when staging metadata exists.
 */
export const STAGE_PHASES = ["metadata_read", "live_check", "recover", "connect", "device_wait", "probe", "format", "mount", "metadata_write"] as const;
export type StagePhase = (typeof STAGE_PHASES)[number];

/** `refused`: the formatter's own blkid guard found a signature; `failed`: mkfs or anything else went wrong. */
export type FormatOutcome = "ok" | "refused" | "failed";

/**
 * The timing seam of NodeStageVolume: the RPC wraps each step in `time` and knows nothing else about
 * metrics. Durations are recorded whether the step succeeds or fails, so a device wait that runs
 * into its deadline shows up as the time it actually cost.
 */
export interface StageRecorder {
  time<T>(phase: StagePhase, step: () => Promise<T>): Promise<T>;
  /** Runs mkfs as the `format` phase and counts it by fs type and outcome. */
  format(fsType: FsType, step: () => Promise<void>): Promise<void>;
}

// Stage steps range from a metadata write (~1 ms) to mkfs of a large volume (minutes).
const PHASE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Registers the stage phase histogram and the format counter; returns the recorder that feeds them. */
export function registerStageMetrics(metrics: MetricsRegistry): StageRecorder {
  const phases = metrics.histogram({
    name: "node_stage_phase_duration_seconds",
    help: "Time NodeStageVolume spent in each step (succeeded or not), by phase",
    labelNames: ["phase"],
    buckets: PHASE_BUCKETS,
  });
  const formats = metrics.counter({
    name: "node_format_operations_total",
    help: "mkfs runs on staged devices, by fs type and outcome (ok, refused, failed)",
    labelNames: ["fs_type", "outcome"],
  });

  const time = async <T>(phase: StagePhase, step: () => Promise<T>): Promise<T> => {
    const stop = phases.startTimer({ phase });
    try {
      return await step();
    } finally {
      stop();
    }
  };
  return {
    time,
    async format(fsType, step) {
      let outcome: FormatOutcome = "failed";
      try {
        await time("format", step);
        outcome = "ok";
      } catch (err) {
        if (err instanceof FailedPreconditionError) outcome = "refused";
        throw err;
      } finally {
        formats.inc({ fs_type: fsType, outcome });
      }
    },
  };
}
