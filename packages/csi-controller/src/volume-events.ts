import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, OutOfRangeError, ResourceExhaustedError, type csi, type Logger, withDeadline } from "@rds-csi/core";
import { type EventRecord, type EventRecorder, type EventSubject } from "@rds-csi/core/k8s";
import type { ClaimLookup } from "./claim-lookup.js";

/**
 * Added to CreateVolume's parameters by external-provisioner run with `--extra-create-metadata`. The
 * PV does not exist yet when CreateVolume fails, so these are the only way to find the claim.
 */
export const PVC_NAME_PARAMETER = "csi.storage.k8s.io/pvc/name";
export const PVC_NAMESPACE_PARAMETER = "csi.storage.k8s.io/pvc/namespace";

/**
 * Failures a user has to act on (free space, a size, a parameter, a name clash, a missing prerequisite).
 * ABORTED, UNAVAILABLE and DEADLINE_EXCEEDED are retried by the sidecar and usually pass on their own,
 * so an event for each attempt would be noise.
 */
const NEEDS_ATTENTION = [ResourceExhaustedError, OutOfRangeError, InvalidArgumentError, AlreadyExistsError, FailedPreconditionError];

/**
 * Kubernetes events on the claim of a volume. Both methods return at once and never throw: an event is
 * a courtesy to the user, and the RPC's answer must not wait for, or depend on, the API server.
 */
export interface VolumeEvents {
  /** CreateVolume failed; posts a Warning `ProvisioningFailed` when the failure needs the user. */
  provisioningFailed(request: csi.CreateVolumeRequest, err: unknown): void;
  /** ControllerExpandVolume grew the disk; posts a Normal `VolumeExpanded`. */
  volumeExpanded(volumeId: string, fromBytes: bigint, toBytes: bigint): void;
}

export interface PvcVolumeEventsOptions {
  readonly recorder: EventRecorder;
  readonly claims: ClaimLookup;
  readonly logger: Logger;
  /** deadline of one post, claim look-up included; default 10 s */
  readonly timeoutMs?: number;
}

/** VolumeEvents posted on the PersistentVolumeClaim; a post that fails or runs out of time is logged and dropped. */
export class PvcVolumeEvents implements VolumeEvents {
  readonly #options: PvcVolumeEventsOptions;
  readonly #stopping = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: PvcVolumeEventsOptions) {
    this.#options = options;
  }

  provisioningFailed(request: csi.CreateVolumeRequest, err: unknown): void {
    if (!needsAttention(err)) return;
    const namespace = request.parameters[PVC_NAMESPACE_PARAMETER];
    const name = request.parameters[PVC_NAME_PARAMETER];
    // Without --extra-create-metadata there is no claim to post on; the sidecar's own event still reports the failure.
    if (!namespace || !name) return;
    this.#post(request.name, (signal) => this.#options.claims.named(namespace, name, signal), {
      type: "Warning",
      reason: "ProvisioningFailed",
      message: `cannot provision volume "${request.name}": ${err.message}`,
    });
  }

  volumeExpanded(volumeId: string, fromBytes: bigint, toBytes: bigint): void {
    this.#post(volumeId, (signal) => this.#options.claims.ofVolume(volumeId, signal), {
      type: "Normal",
      reason: "VolumeExpanded",
      message: `volume ${volumeId} grew from ${fromBytes} to ${toBytes} bytes on the RDS`,
    });
  }

  /** Resolves when every post started so far has finished, posted or not. */
  async settled(): Promise<void> {
    await Promise.all([...this.#inFlight]);
  }

  /** Aborts the posts in flight; for shutdown. */
  async close(): Promise<void> {
    this.#stopping.abort();
    await this.settled();
  }

  #post(volume: string, claimOf: (signal: AbortSignal) => Promise<EventSubject | undefined>, event: Omit<EventRecord, "subject">): void {
    const { recorder, logger } = this.#options;
    const posting = withDeadline(this.#stopping.signal, this.#options.timeoutMs ?? 10_000, async (signal) => {
      const subject = await claimOf(signal);
      if (!subject) {
        logger.debug(`no claim to post the ${event.reason} event on`, { volume });
        return;
      }
      await recorder.record({ ...event, subject }, signal);
    })
      .catch((err: unknown) => {
        logger.warn(`cannot post the ${event.reason} event`, { volume, error: err instanceof Error ? err.message : String(err) });
      })
      .finally(() => this.#inFlight.delete(posting));
    this.#inFlight.add(posting);
  }
}

function needsAttention(err: unknown): err is Error {
  return NEEDS_ATTENTION.some((type) => err instanceof type);
}
