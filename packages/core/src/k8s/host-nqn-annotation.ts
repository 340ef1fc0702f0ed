import { isNqn } from "../nvme/nqn.js";
import type { Logger } from "../observability/logger.js";
import { KubeClient } from "./kube-client.js";
import { loadKubeConnection, type KubeConfigSource } from "./kube-config-source.js";
import type { KubeNode } from "./kube-objects.js";
import { annotateNode } from "./node-annotation.js";

/**
 * The Node annotation holding the NVMe host NQN the node plugin connects with. The node plugin sets
 * it at start (from /etc/nvme/hostnqn); the controller reads it to grant that host access to an
 * export when host access control is on. One constant, so writer and reader cannot drift.
 */
export const HOST_NQN_ANNOTATION = "rds.csi.srvlab.io/host-nqn";

/** The node's host NQN, or undefined when the annotation is missing or not an NQN. */
export function hostNqnOf(node: KubeNode): string | undefined {
  const value = node.metadata?.annotations?.[HOST_NQN_ANNOTATION]?.trim();
  return value !== undefined && isNqn(value) ? value : undefined;
}

export interface PublishHostNqnOptions {
  readonly source: KubeConfigSource;
  readonly nodeName: string;
  readonly hostNqn: string;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/**
 * The node plugin's start-up step: writes its host NQN on its own Node. API access is optional for
 * the node (volumes attach without it), so no outcome stops the plugin: without a connection, or when
 * the API server refuses, it logs why the controller cannot restrict exports to this host and returns
 * false. Only the caller's cancellation is thrown.
 */
export async function publishHostNqn(options: PublishHostNqnOptions): Promise<boolean> {
  const { logger, nodeName, signal } = options;
  const consequence = "the controller cannot grant this node's host NQN, so host access control cannot be used with this node";
  let client: KubeClient;
  try {
    client = new KubeClient(await loadKubeConnection(options.source, "rds-csi-node"));
  } catch (err) {
    logger.warn(`no Kubernetes API access; ${consequence}`, { node_id: nodeName, error: (err as Error).message });
    return false;
  }
  try {
    await annotateNode(client, nodeName, HOST_NQN_ANNOTATION, options.hostNqn, signal);
    logger.info("published the host NQN on the Node", { node_id: nodeName, host_nqn: options.hostNqn });
    return true;
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    logger.warn(`cannot annotate the Node; ${consequence}`, { node_id: nodeName, error: (err as Error).message });
    return false;
  } finally {
    client.connection.close();
  }
}
