import { abortableSleep, type Logger } from "@rds-csi/core";
import { annotateNode, CLEANED_UP_ANNOTATION, FENCE_ANNOTATION, type KubeClient, type KubeNode } from "@rds-csi/core/k8s";
import type { VolumeAttachmentCheck } from "./volume-attachment-check.js";

export interface FenceCleanupReporterOptions {
  readonly client: KubeClient;
  readonly nodeName: string;
  readonly attachments: VolumeAttachmentCheck;
  /** the volumes staged on this node now */
  readonly staged: () => readonly string[];
  readonly logger: Logger;
  readonly intervalMs: number;
}

/**
 * The node plugin's half of unfencing. While the attachment-reconciler's fence record is on this
 * Node, it looks every interval whether every volume still staged here is attached to this node again
 * (the ones that moved away were unstaged by kubelet; their lost controllers are never reconnected,
 * see reconnectLostController). Once so, it writes the clean-up annotation, once per fence record; the
 * reconciler then unfences the node after its stabilisation period.
 */
export class FenceCleanupReporter {
  readonly #options: FenceCleanupReporterOptions;
  readonly #stopping = new AbortController();
  #running: Promise<void> | undefined;
  /** the fence record the clean-up was reported for */
  #reportedFor: string | undefined;

  constructor(options: FenceCleanupReporterOptions) {
    this.#options = options;
  }

  start(): void {
    this.#running ??= this.#run(this.#stopping.signal).catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.#stopping.abort(new DOMException("the node plugin is stopping", "AbortError"));
    await this.#running;
  }

  /** One look; returns true when it reported the clean-up. */
  async check(signal: AbortSignal): Promise<boolean> {
    const { client, nodeName, attachments, staged, logger } = this.#options;
    const node = await client.get<KubeNode>(`read Node ${nodeName}`, `/api/v1/nodes/${encodeURIComponent(nodeName)}`, signal);
    const fence = node.metadata?.annotations?.[FENCE_ANNOTATION];
    if (fence === undefined || fence === this.#reportedFor) return false;
    const volumes = staged();
    const states = await Promise.all(volumes.map(async (volumeId) => ({ volumeId, state: await attachments.stateOf(volumeId, signal) })));
    const unsettled = states.filter(({ state }) => state !== "attached");
    if (unsettled.length > 0) {
      logger.info("this node was fenced; waiting until every staged volume is attached here again or unstaged before reporting the clean-up", { volumes: unsettled });
      return false;
    }
    await annotateNode(client, nodeName, CLEANED_UP_ANNOTATION, new Date().toISOString(), signal);
    this.#reportedFor = fence;
    logger.info("this node was fenced; reported that no volume that moved away is staged here", { staged: volumes.length });
    return true;
  }

  async #run(signal: AbortSignal): Promise<void> {
    for (;;) {
      try {
        await this.check(signal);
      } catch (err) {
        if (signal.aborted) return;
        this.#options.logger.warn("cannot check for a fence of this node; trying again", { error: (err as Error).message });
      }
      await abortableSleep(this.#options.intervalMs, signal);
    }
  }
}
