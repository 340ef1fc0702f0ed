import { hasOutOfServiceTaint } from "@rds-csi/core/k8s";
import { readiness, type ClusterNode } from "./cluster-objects.js";

/** An administrator sets this annotation to "true" to have a node treated as failed at once. */
export const MARK_FAILED_ANNOTATION = "rds.csi.srvlab.io/mark-failed";

export type Health =
  | { readonly verdict: "healthy" }
  /** not Ready, but its Lease was seen renewed within the grace period (or the grace period is still running) */
  | { readonly verdict: "suspect"; readonly since: number }
  | { readonly verdict: "failed"; readonly reason: "lease-expired" | "out-of-service-taint" | "marked"; readonly since: number };

export interface FailureDetectorOptions {
  /** How long a not-Ready node's Lease must go unrenewed before the node counts as failed. */
  readonly graceMs: number;
  /** The reconciler's own clock (ms); never the node's timestamps. */
  readonly now: () => number;
}

/**
 * Tells failed nodes from slow ones. A node is failed when it is not Ready and its Lease has not been
 * seen renewed for longer than the grace period — timed by when this process last *saw* `renewTime`
 * change, not by the value itself, so a node whose clock is off can neither cause a fence (a renewTime
 * in the past) nor hide from one (a renewTime in the future that never changes). A node whose Lease
 * was never seen counts from when this process first saw the node, so a restarted reconciler waits a
 * full grace period before it fences anyone. The out-of-service taint or the mark-failed annotation
 * make a node failed at once.
 */
export class FailureDetector {
  readonly #options: FailureDetectorOptions;
  /** node → the renewTime last seen and when (our clock) it was first seen with that value */
  readonly #renewals = new Map<string, { readonly renewTime: string; readonly seenAt: number }>();
  /** node → when (our clock) it was first seen not Ready in the current spell */
  readonly #notReadySince = new Map<string, number>();
  readonly #firstSeen = new Map<string, number>();

  constructor(options: FailureDetectorOptions) {
    this.#options = options;
  }

  /** Records a Lease's renewTime as seen now; only a change counts as a renewal. */
  observeLease(nodeName: string, renewTime: string | undefined): void {
    if (renewTime === undefined) return;
    if (this.#renewals.get(nodeName)?.renewTime === renewTime) return;
    this.#renewals.set(nodeName, { renewTime, seenAt: this.#options.now() });
  }

  /** ms since the node's Lease was last seen renewed (or since the node was first seen, without a Lease). */
  leaseSilenceMs(nodeName: string): number {
    const now = this.#options.now();
    const seenAt = this.#renewals.get(nodeName)?.seenAt ?? this.#firstSeen.get(nodeName) ?? now;
    return now - seenAt;
  }

  /** Whether the Lease was seen renewed within the grace period. */
  leaseFresh(nodeName: string): boolean {
    return this.leaseSilenceMs(nodeName) <= this.#options.graceMs;
  }

  assess(node: ClusterNode): Health {
    const name = node.metadata?.name ?? "";
    const now = this.#options.now();
    if (!this.#firstSeen.has(name)) this.#firstSeen.set(name, now);
    const ready = readiness(node) === "True";
    if (ready) this.#notReadySince.delete(name);
    else if (!this.#notReadySince.has(name)) this.#notReadySince.set(name, now);
    if (hasOutOfServiceTaint(node)) return { verdict: "failed", reason: "out-of-service-taint", since: now };
    if (node.metadata?.annotations?.[MARK_FAILED_ANNOTATION] === "true") return { verdict: "failed", reason: "marked", since: now };
    if (ready) return { verdict: "healthy" };
    const silence = this.leaseSilenceMs(name);
    if (silence > this.#options.graceMs) return { verdict: "failed", reason: "lease-expired", since: now - silence + this.#options.graceMs };
    return { verdict: "suspect", since: this.#notReadySince.get(name) ?? now };
  }

  /** Drops what is known about a node that was deleted. */
  forget(nodeName: string): void {
    this.#renewals.delete(nodeName);
    this.#notReadySince.delete(nodeName);
    this.#firstSeen.delete(nodeName);
  }
}
