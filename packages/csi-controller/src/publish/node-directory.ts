import { NotFoundError } from "@rds-csi/core";
import { fenceEvidence, hostNqnOf, type CsiNode, type KubeClient, type KubeNode } from "@rds-csi/core/k8s";

/** What the CSINode object says about this driver on one node. */
export interface DriverNode {
  /** How many of this driver's volumes the node takes (CSINode `allocatable.count`); undefined: no limit. */
  readonly attachLimit: number | undefined;
}

/** What the Node object says about giving the node access to an export. */
export interface NodeAccess {
  /** The host NQN the node plugin published on the Node; undefined when the Node or its annotation is gone. */
  readonly hostNqn: string | undefined;
  /** Why the node is fenced (see core's fenceEvidence); undefined when it is not, or the Node is gone. */
  readonly fenced: string | undefined;
}

/** What the arbiter asks about nodes. */
export interface NodeDirectory {
  /** NotFoundError naming the node unless its CSINode object lists this driver. */
  requireDriverNode(node: string, signal: AbortSignal): Promise<DriverNode>;
  /** One read of the Node: its host NQN and whether it is fenced. */
  access(node: string, signal: AbortSignal): Promise<NodeAccess>;
}

/**
 * Nodes as the API server knows them, read directly (not from a cache) because a publish must not be
 * granted on a stale view of a node that just left or was just fenced: the attachment-reconciler writes
 * its fence record on the Node before it takes the node's host out of any allow-list, so a read made
 * after that write never admits the node again. The CSI node id is taken to be the Kubernetes node
 * name, which is what our node plugin reports from NodeGetInfo; the CSINode object carries that name.
 */
export class KubeNodeDirectory implements NodeDirectory {
  readonly #client: KubeClient;
  readonly #driverName: string;

  constructor(options: { client: KubeClient; driverName: string }) {
    this.#client = options.client;
    this.#driverName = options.driverName;
  }

  async requireDriverNode(node: string, signal: AbortSignal): Promise<DriverNode> {
    let drivers: NonNullable<NonNullable<CsiNode["spec"]>["drivers"]>;
    try {
      const csiNode = await this.#client.get<CsiNode>(`read CSINode ${node}`, `/apis/storage.k8s.io/v1/csinodes/${encodeURIComponent(node)}`, signal);
      drivers = csiNode.spec?.drivers ?? [];
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new NotFoundError(`node ${node} is not a node of driver ${this.#driverName}: it has no CSINode object`, { cause: err });
      }
      throw err;
    }
    const ours = drivers.find((driver) => driver.name === this.#driverName);
    if (ours === undefined) {
      throw new NotFoundError(`node ${node} is not a node of driver ${this.#driverName}: its CSINode does not list the driver (is the node plugin running there?)`);
    }
    const count = ours.allocatable?.count;
    return { attachLimit: typeof count === "number" && Number.isInteger(count) && count > 0 ? count : undefined };
  }

  async access(node: string, signal: AbortSignal): Promise<NodeAccess> {
    let object: KubeNode;
    try {
      object = await this.#client.get<KubeNode>(`read Node ${node}`, `/api/v1/nodes/${encodeURIComponent(node)}`, signal);
    } catch (err) {
      if (err instanceof NotFoundError) return { hostNqn: undefined, fenced: undefined };
      throw err;
    }
    return { hostNqn: hostNqnOf(object), fenced: fenceEvidence(object) };
  }
}
