import type { KubeClient } from "./kube-client.js";
import type { KubeNode } from "./kube-objects.js";

/**
 * Sets one annotation on a Node with a merge patch, leaving every other annotation as it is; no
 * read-modify-write, so it cannot lose a race with the kubelet or anyone else writing the Node.
 */
export function annotateNode(client: KubeClient, nodeName: string, key: string, value: string, signal: AbortSignal): Promise<KubeNode> {
  return client.mergePatch<KubeNode>(`annotate Node ${nodeName}`, `/api/v1/nodes/${encodeURIComponent(nodeName)}`, { metadata: { annotations: { [key]: value } } }, signal);
}
