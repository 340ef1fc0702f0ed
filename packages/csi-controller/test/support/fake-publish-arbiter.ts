import { buildPublishContext, csi, FailedPreconditionError, NotFoundError, VOLUME_CONTEXT_KEYS } from "@rds-csi/core";
import { type RdsVolume } from "@rds-csi/core/routeros";
import type { PublishArbiter } from "../../src/publish-arbiter.js";

const Mode = csi.VolumeCapability_AccessMode_Mode;

/**
 * A PublishArbiter for tests of the controller's own handlers: a fixed set of known nodes and an
 * in-memory record of who holds what. One node per volume, two for MULTI_NODE_MULTI_WRITER, any number
 * of readers. The real arbiter (publish/) decides from VolumeAttachments and has its own tests.
 */
export class FakePublishArbiter implements PublishArbiter {
  readonly #nodes: ReadonlySet<string>;
  readonly #holders = new Map<string, Set<string>>();

  constructor(nodes: readonly string[]) {
    this.#nodes = new Set(nodes);
  }

  async publish(request: csi.ControllerPublishVolumeRequest, volume: RdsVolume): Promise<csi.ControllerPublishVolumeResponse> {
    if (!this.#nodes.has(request.nodeId)) throw new NotFoundError(`node ${request.nodeId} is not a node of this driver`);
    const holders = this.#holders.get(volume.id) ?? new Set<string>();
    const mode = request.volumeCapability?.accessMode?.mode;
    const limit = mode === Mode.MULTI_NODE_MULTI_WRITER ? 2 : mode === Mode.MULTI_NODE_READER_ONLY ? Number.POSITIVE_INFINITY : 1;
    if (!holders.has(request.nodeId) && holders.size >= limit) {
      throw new FailedPreconditionError(`volume ${volume.id} is published to ${[...holders].join(", ")}`);
    }
    holders.add(request.nodeId);
    this.#holders.set(volume.id, holders);
    const address = request.volumeContext[VOLUME_CONTEXT_KEYS.nvmeAddress] ?? "127.0.0.1";
    return { publishContext: buildPublishContext({ address, port: volume.port, nqn: volume.nqn }) };
  }

  async unpublish(request: csi.ControllerUnpublishVolumeRequest): Promise<void> {
    if (request.nodeId === "") this.#holders.delete(request.volumeId);
    else this.#holders.get(request.volumeId)?.delete(request.nodeId);
  }

  async publishedNodes(volumeId: string): Promise<string[]> {
    return [...(this.#holders.get(volumeId) ?? [])].sort();
  }
}
