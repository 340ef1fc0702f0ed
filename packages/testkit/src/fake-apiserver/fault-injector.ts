import type { ServerResponse } from "node:http";

/** A failure the fake answers the next matching requests with, instead of serving them. */
export interface InjectedFault {
  /** HTTP method to match (any when absent) */
  readonly method?: string;
  /** tested against the request path, without the query string (any when absent) */
  readonly path?: RegExp;
  /** true: only watch requests; false: only non-watch requests; absent: both */
  readonly watch?: boolean;
  /** the HTTP status, 400–599; the body is a `Status` with the matching reason */
  readonly status: number;
  /** how many matching requests fail (default 1) */
  readonly count?: number;
  /** sent as `Retry-After` and `details.retryAfterSeconds` (e.g. with 429) */
  readonly retryAfterSeconds?: number;
  readonly message?: string;
}

interface Armed {
  readonly fault: InjectedFault;
  remaining: number;
}

/** Armed faults, the response delay and partitions; consulted once per request, in arrival order. */
export class FaultInjector {
  readonly #armed: Armed[] = [];
  #delayMs = 0;
  /** partitioned User-Agents and the responses held for each */
  readonly #partitions = new Map<string, Set<ServerResponse>>();

  partition(userAgent: string): void {
    if (!this.#partitions.has(userAgent)) this.#partitions.set(userAgent, new Set());
  }

  partitioned(userAgent: string): boolean {
    return this.#partitions.has(userAgent);
  }

  /** Never answers `res`; it ends when the client gives up or the partition heals (connection reset). */
  hold(res: ServerResponse): void {
    const held = this.#partitions.get(res.req.headers["user-agent"] ?? "");
    if (held === undefined) return;
    held.add(res);
    res.once("close", () => held.delete(res));
  }

  heal(userAgent: string): void {
    const held = this.#partitions.get(userAgent);
    this.#partitions.delete(userAgent);
    for (const res of held ?? []) res.destroy();
  }

  healAll(): void {
    for (const userAgent of [...this.#partitions.keys()]) this.heal(userAgent);
  }

  failNext(fault: InjectedFault): void {
    const count = fault.count ?? 1;
    if (!Number.isInteger(fault.status) || fault.status < 400 || fault.status > 599) {
      throw new RangeError(`failNext: status must be an HTTP error status (400-599), got ${fault.status}`);
    }
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`failNext: count must be a positive integer, got ${count}`);
    this.#armed.push({ fault, remaining: count });
  }

  setDelay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delay: ms must be a non-negative number, got ${ms}`);
    this.#delayMs = ms;
  }

  delayMs(): number {
    return this.#delayMs;
  }

  /** The first armed fault matching this request, used up by one. */
  take(method: string, path: string, watch: boolean): InjectedFault | undefined {
    const index = this.#armed.findIndex(
      ({ fault }) =>
        (fault.method === undefined || fault.method.toUpperCase() === method) &&
        (fault.path === undefined || fault.path.test(path)) &&
        (fault.watch === undefined || fault.watch === watch),
    );
    const armed = this.#armed[index];
    if (armed === undefined) return undefined;
    armed.remaining -= 1;
    if (armed.remaining === 0) this.#armed.splice(index, 1);
    return armed.fault;
  }
}
