import { FENCE_ANNOTATION } from "@rds-csi/core/k8s";
import type { ClusterNode } from "./cluster-objects.js";

export type StrategyResult = "success" | "failed" | "unavailable" | "dry_run";

/**
 * What the reconciler did to a node, written on the Node itself so that it survives a change of
 * leader: `started` is written before the first step, so a successor finishes a fence instead of
 * starting another; `done` carries each strategy's result.
 */
export interface FenceRecord {
  readonly phase: "started" | "done";
  /** when the failure was detected (the detecting leader's clock), RFC 3339 */
  readonly detectedAt: string;
  readonly startedAt: string;
  readonly doneAt?: string;
  readonly strategies: { readonly taint?: StrategyResult; readonly storage?: StrategyResult };
  /** the storage side reported whether removing the host cut its live connections */
  readonly connectionsCut?: boolean;
  /** the reconciler added the out-of-service taint (one an administrator set is left to them) */
  readonly taintAdded?: boolean;
  /** volume ids whose export no longer admits the node */
  readonly revoked?: readonly string[];
  /** the node plugin's clean-up annotation as it was when the fence started */
  readonly cleanedUpBefore?: string;
}

/** The node's fence record; undefined when there is none or it cannot be read (then the node is not fenced by us). */
export function fenceRecordOf(node: ClusterNode): FenceRecord | undefined {
  const raw = node.metadata?.annotations?.[FENCE_ANNOTATION];
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<FenceRecord>;
    if ((parsed.phase !== "started" && parsed.phase !== "done") || typeof parsed.detectedAt !== "string" || typeof parsed.startedAt !== "string") return undefined;
    if (typeof parsed.strategies !== "object" || parsed.strategies === null) return undefined;
    return parsed as FenceRecord;
  } catch {
    return undefined;
  }
}

/** Whether the node is fenced on the storage side with its live connections cut: the condition for removing an attacher's finalizer. */
export function storageFenced(record: FenceRecord | undefined): boolean {
  return record?.phase === "done" && record.strategies.storage === "success" && record.connectionsCut === true;
}
