import type { Logger } from "@rds-csi/core";
import { runWorkers, WorkQueue, type WorkQueueOptions } from "@rds-csi/core/k8s";
import type { NodeLease } from "./cluster-objects.js";
import type { Reconciler } from "./reconciler.js";
import { NotLeaderError } from "./write-guard.js";

/**
 * Nodes reconciled at once (never one node twice): a fence waits on the RDS and the API server, and
 * the other nodes' work goes on meanwhile.
 */
const NODE_WORKERS = 4;
/** The orphan audit's one key, on a queue of its own: it lists the whole RDS and must not hold up a fence. */
const AUDIT_KEY = "orphan-audit";
/** A failed audit is retried from this wait, doubling up to the audit interval. */
const AUDIT_RETRY_MS = 1_000;

/** Where the reconciler's work comes from: the informers' events, and whether their caches listed. */
export interface ReconcilerEvents {
  onNodeWork(handler: (nodeName: string) => void): void;
  onLease(handler: (lease: NodeLease) => void): void;
  waitForSync(signal: AbortSignal): Promise<void>;
}

export interface ReconcilerQueuesOptions {
  readonly reconciler: Pick<Reconciler, "nodeNames" | "observe" | "observeLease" | "reconcileNode">;
  readonly audit: { run(signal: AbortSignal): Promise<unknown> };
  readonly events: ReconcilerEvents;
  readonly leader: { isLeader(): boolean; termSignal(): AbortSignal };
  /** Every node is queued this often, so time-based steps (grace period, stuck detach, stabilisation) happen without an event. */
  readonly resyncIntervalMs: number;
  readonly auditIntervalMs: number;
  readonly logger: Logger;
  /** The backoff of a node whose work failed (default: WorkQueue's, 100 ms doubling to 60 s). */
  readonly retry?: WorkQueueOptions;
}

/**
 * The reconciler's work on core's WorkQueue (client-go's model): informer events queue the name of the
 * node they concern, a worker reconciles that node from the caches as they are then, and a node whose
 * work failed is queued again after its backoff. The queue hands a node to one worker at a time, so two
 * events for one node never run its work at once; events that arrive meanwhile fold into one more run.
 * A resync queues every node on an interval, and a timer queues the orphan audit on its own queue.
 * Only the leader acts: on a standby a node's turn only records what this replica saw (its own clock
 * on every Lease), and each write is checked against leadership again (WriteGuard) and cancelled when
 * the term ends. Workers start once the informers listed, so nothing is decided from a partial cache.
 */
export class ReconcilerQueues {
  readonly #options: ReconcilerQueuesOptions;
  readonly #nodes: WorkQueue;
  readonly #audits: WorkQueue;
  #stopping: AbortController | undefined;
  #running: Promise<void> | undefined;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(options: ReconcilerQueuesOptions) {
    this.#options = options;
    this.#nodes = new WorkQueue(options.retry);
    this.#audits = new WorkQueue({ baseDelayMs: Math.min(AUDIT_RETRY_MS, options.auditIntervalMs), maxDelayMs: options.auditIntervalMs });
    options.events.onNodeWork((nodeName) => this.#nodes.add(nodeName));
    options.events.onLease((lease) => options.reconciler.observeLease(lease));
  }

  start(): void {
    if (this.#running) return;
    const stopping = new AbortController();
    this.#stopping = stopping;
    this.#timers.push(
      setInterval(() => this.resync(), this.#options.resyncIntervalMs),
      setInterval(() => this.#audits.add(AUDIT_KEY), this.#options.auditIntervalMs),
    );
    this.#running = this.#run(stopping.signal);
  }

  /** Queues every node. */
  resync(): void {
    for (const name of this.#options.reconciler.nodeNames()) this.#nodes.add(name);
  }

  /** This replica became the leader: every node is looked at, and the orphan audit runs, at once. */
  leading(): void {
    this.resync();
    this.#audits.add(AUDIT_KEY);
  }

  async stop(): Promise<void> {
    for (const timer of this.#timers.splice(0)) clearInterval(timer);
    this.#stopping?.abort(new Error("the reconciler stopped"));
    await this.#running;
    this.#running = undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const { events, logger } = this.#options;
    try {
      await events.waitForSync(signal);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    this.resync();
    await Promise.all([
      runWorkers(this.#nodes, { name: "nodes", workers: NODE_WORKERS, logger, handle: (name, workerSignal) => this.#reconcileNode(name, workerSignal) }, signal),
      runWorkers(this.#audits, { name: "orphan audit", workers: 1, logger, handle: (_key, workerSignal) => this.#asLeader("orphan audit", (termSignal) => this.#options.audit.run(termSignal), workerSignal) }, signal),
    ]);
  }

  async #reconcileNode(name: string, signal: AbortSignal): Promise<void> {
    const { reconciler, leader } = this.#options;
    if (!leader.isLeader()) {
      reconciler.observe(name);
      return;
    }
    await this.#asLeader(`node ${name}`, (termSignal) => reconciler.reconcileNode(name, termSignal), signal);
  }

  /**
   * Runs `work` while leading, cancelled when the term ends. Work cut short by lost leadership is not
   * retried here: the next leader (or this one, leading again) looks at everything.
   */
  async #asLeader(what: string, work: (signal: AbortSignal) => Promise<unknown>, signal: AbortSignal): Promise<void> {
    const { leader, logger } = this.#options;
    if (!leader.isLeader()) return;
    try {
      await work(AbortSignal.any([signal, leader.termSignal()]));
    } catch (err) {
      if (signal.aborted || !(err instanceof NotLeaderError || !leader.isLeader())) throw err;
      logger.info(`${what}: stopped, leadership lost`, { error: err instanceof Error ? err.message : String(err) });
    }
  }
}
