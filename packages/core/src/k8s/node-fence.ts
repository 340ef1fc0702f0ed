import type { KubeNode, Taint } from "./kube-objects.js";
import { FENCE_ANNOTATION } from "./node-fence-annotations.js";

/**
 * The taint of Kubernetes' non-graceful node shutdown (KEP-2268, GA in 1.28): the attachment-reconciler
 * adds it when it fences a node, an administrator may add it by hand; kube-controller-manager then
 * force-deletes the node's pods and detaches their volumes at once.
 */
export const OUT_OF_SERVICE_TAINT: Taint = Object.freeze({ key: "node.kubernetes.io/out-of-service", value: "nodeshutdown", effect: "NoExecute" });

export function hasOutOfServiceTaint(node: KubeNode): boolean {
  return (node.spec?.taints ?? []).some((taint) => taint.key === OUT_OF_SERVICE_TAINT.key && taint.effect === OUT_OF_SERVICE_TAINT.effect);
}

/**
 * Why the node counts as fenced, in words for a log line or an error message: the attachment-reconciler's
 * fence record (any value: one that cannot be read still says a fence was started) and/or the
 * out-of-service taint. Undefined when it carries neither. A fenced node may still have connections
 * and writers from before its failure, so no one may give it access to a volume until it is unfenced.
 */
export function fenceEvidence(node: KubeNode): string | undefined {
  const evidence: string[] = [];
  if (node.metadata?.annotations?.[FENCE_ANNOTATION] !== undefined) evidence.push(`it carries the attachment-reconciler's fence record (annotation ${FENCE_ANNOTATION})`);
  if (hasOutOfServiceTaint(node)) evidence.push(`it has the taint ${OUT_OF_SERVICE_TAINT.key}:${OUT_OF_SERVICE_TAINT.effect}`);
  return evidence.length === 0 ? undefined : evidence.join(" and ");
}
