import { Watch, type KubeConfig } from "@kubernetes/client-node";

export interface RecordedEvent {
  readonly type: string;
  readonly object: { metadata?: { name?: string; resourceVersion?: string; deletionTimestamp?: string }; [field: string]: unknown };
}

/** A client-node `Watch` that records what it receives and when it is done. */
export interface WatchRecorder {
  readonly events: RecordedEvent[];
  /** settles with what client-node passed to `done` (null after a clean end) */
  readonly done: Promise<unknown>;
  abort(): void;
}

export async function recordWatch(kc: KubeConfig, path: string, query: Record<string, string | number | boolean>): Promise<WatchRecorder> {
  const events: RecordedEvent[] = [];
  let finish: (err: unknown) => void = () => undefined;
  const done = new Promise<unknown>((resolve) => {
    finish = resolve;
  });
  const controller = await new Watch(kc).watch(
    path,
    query,
    (type, object: RecordedEvent["object"]) => events.push({ type, object }),
    (err: unknown) => finish(err),
  );
  return { events, done, abort: () => controller.abort() };
}

export function summary(events: readonly RecordedEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.object.metadata?.name ?? ""}`.trim());
}
