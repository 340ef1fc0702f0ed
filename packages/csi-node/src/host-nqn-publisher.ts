import { abortableSleep, Backoff, withDeadline, type Logger } from "@rds-csi/core";
import { publishHostNqn, type KubeConfigSource, type PublishHostNqnOptions } from "@rds-csi/core/k8s";

export interface HostNqnPublisherOptions {
  readonly source: KubeConfigSource;
  readonly nodeName: string;
  readonly hostNqn: string;
  readonly logger: Logger;
  /** Seam for tests; production writes through core's Kubernetes client. */
  readonly publish?: (options: PublishHostNqnOptions) => Promise<boolean>;
  readonly attemptTimeoutMs?: number;
  readonly firstRetryMs?: number;
  readonly maxRetryMs?: number;
}

/**
 * Puts this node's host NQN on its Node in the background, retrying (capped exponential backoff) until
 * it lands or the plugin stops. Serving never waits for it: volumes attach without API access, but the
 * controller can only grant this host on an export once the annotation is there, so an API server that
 * is briefly down at node start must not leave the node without it for good.
 */
export class HostNqnPublisher {
  readonly #stopping = new AbortController();
  readonly done: Promise<boolean>;

  constructor(options: HostNqnPublisherOptions) {
    this.done = this.#run(options).catch(() => false);
  }

  async stop(): Promise<void> {
    this.#stopping.abort(new DOMException("the node plugin is stopping", "AbortError"));
    await this.done;
  }

  async #run(options: HostNqnPublisherOptions): Promise<boolean> {
    const publish = options.publish ?? publishHostNqn;
    const stopping = this.#stopping.signal;
    const backoff = new Backoff({ initialDelay: options.firstRetryMs ?? 5_000, maxDelay: options.maxRetryMs ?? 300_000, jitter: "none" });
    for (;;) {
      const published = await withDeadline(stopping, options.attemptTimeoutMs ?? 15_000, (signal) =>
        publish({ source: options.source, nodeName: options.nodeName, hostNqn: options.hostNqn, logger: options.logger, signal }),
      ).catch((err: unknown) => {
        if (stopping.aborted) throw err;
        return false; // this attempt's deadline: try again
      });
      if (published) return true;
      await abortableSleep(backoff.next(), stopping);
    }
  }
}
