import { randomBytes } from "node:crypto";
import type { KubeClient } from "./kube-client.js";
import type { KubeObject } from "./kube-objects.js";

/** The object an event is about; namespaced objects only, since events live in a namespace. */
export interface EventSubject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
}

export interface EventRecord {
  readonly subject: EventSubject;
  readonly type: "Normal" | "Warning";
  /** UpperCamelCase, e.g. `MigrationOverdue`; what alerts and `kubectl get events --field-selector` match on. */
  readonly reason: string;
  readonly message: string;
}

/** Posts Kubernetes events; the one way services tell a user something on the object they look at. */
export interface EventRecorder {
  record(event: EventRecord, signal: AbortSignal): Promise<void>;
}

// The API server refuses longer event messages.
const MAX_MESSAGE_LENGTH = 1024;

/**
 * An EventRecorder over core/v1 Events. Each call creates one event (no client-side aggregation):
 * callers post rare, distinct facts, and a name with random bytes never collides with an earlier one.
 */
export class KubeEventRecorder implements EventRecorder {
  readonly #client: KubeClient;
  readonly #component: string;

  /** `component` is the reporting service, e.g. `rds-csi-controller`. */
  constructor(options: { client: KubeClient; component: string }) {
    this.#client = options.client;
    this.#component = options.component;
  }

  async record(event: EventRecord, signal: AbortSignal): Promise<void> {
    const { subject } = event;
    const now = new Date();
    const message = event.message.length > MAX_MESSAGE_LENGTH ? `${event.message.slice(0, MAX_MESSAGE_LENGTH - 3)}...` : event.message;
    const time = now.toISOString();
    await this.#client.create<KubeObject>(
      `create event ${event.reason} on ${subject.kind} ${subject.namespace}/${subject.name}`,
      `/api/v1/namespaces/${encodeURIComponent(subject.namespace)}/events`,
      {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${subject.name}.${now.getTime().toString(16)}${randomBytes(4).toString("hex")}`, namespace: subject.namespace },
        involvedObject: { apiVersion: subject.apiVersion, kind: subject.kind, namespace: subject.namespace, name: subject.name, uid: subject.uid },
        type: event.type,
        reason: event.reason,
        message,
        source: { component: this.#component },
        reportingComponent: this.#component,
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      },
      signal,
    );
  }
}
