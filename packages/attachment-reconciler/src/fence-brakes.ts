export interface FenceBrakesOptions {
  /** At most this many fences start within `windowMs`. */
  readonly maxFences: number;
  readonly windowMs: number;
  /**
   * When more than this share (0..1) of the nodes look failed (not Ready) at once, nothing is fenced:
   * a cut-off reconciler, API server or network sees every node fail, and fencing them all would take
   * the cluster's storage down with it (medik8s NHC's `minHealthy` plays the same role).
   */
  readonly maxFailedShare: number;
}

export type BrakeVerdict =
  | { readonly fence: readonly string[]; readonly paused?: undefined }
  | { readonly fence: readonly string[]; readonly paused: "mass_failure" | "rate_limit"; readonly held: readonly string[] };

/**
 * The safety brakes in front of every fence. Pure: the caller passes the fences already made (their
 * times, read from the fence records on the Nodes, so a new leader counts its predecessor's fences).
 */
export function applyFenceBrakes(
  options: FenceBrakesOptions,
  input: { readonly candidates: readonly string[]; readonly notReady: number; readonly total: number; readonly recentFences: readonly number[]; readonly now: number },
): BrakeVerdict {
  const { candidates, notReady, total, recentFences, now } = input;
  if (candidates.length === 0) return { fence: [] };
  if (total > 0 && notReady / total > options.maxFailedShare) return { fence: [], paused: "mass_failure", held: candidates };
  const inWindow = recentFences.filter((at) => now - at < options.windowMs).length;
  const room = Math.max(0, options.maxFences - inWindow);
  if (room >= candidates.length) return { fence: candidates };
  return { fence: candidates.slice(0, room), paused: "rate_limit", held: candidates.slice(room) };
}
