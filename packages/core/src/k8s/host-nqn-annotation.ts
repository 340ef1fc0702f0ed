import type { V1Node } from "@kubernetes/client-node";

/**
 * The Node annotation holding the NVMe host NQN the node plugin connects with. The node plugin sets
 * it at start (from /etc/nvme/hostnqn); the controller reads it to grant that host access to an
 * export when host access control is on. One constant, so writer and reader cannot drift.
 */
export const HOST_NQN_ANNOTATION = "rds.csi.srvlab.io/host-nqn";

// The NVMe base specification's shape, as RouterOS receives it (core/routeros checks it again before use).
const HOST_NQN = /^nqn\.\d{4}-\d{2}\.[a-z0-9.-]+:[A-Za-z0-9._:-]+$/;

/** The node's host NQN, or undefined when the annotation is missing or not an NQN. */
export function hostNqnOf(node: V1Node): string | undefined {
  const value = node.metadata?.annotations?.[HOST_NQN_ANNOTATION]?.trim();
  return value !== undefined && HOST_NQN.test(value) ? value : undefined;
}
