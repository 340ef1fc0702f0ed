import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type CollectFunction } from "prom-client";

const PREFIX = "rds_csi_";
// <subsystem>_<name>_<unit>: at least three lowercase words joined by single underscores.
const NAME_SHAPE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+){2,}$/;
// A gauge of a state or a count of things has no unit (Prometheus' own `up`): <subsystem>_<name> will do.
const UNITLESS_GAUGE_SHAPE = /^[a-z][a-z0-9]*_[a-z0-9]+$/;

export interface MetricOptions<L extends string> {
  /** without the rds_csi_ prefix, e.g. "grpc_requests_total" */
  readonly name: string;
  readonly help: string;
  /** bounded sets only (method, code, operation); never a volume or node id */
  readonly labelNames?: readonly L[];
}

/**
 * One per process, passed down. It owns a private prom-client Registry, never the global one, so two
 * services in one test process (or two tests) never collide on a metric name.
 */
export class MetricsRegistry {
  readonly #registry = new Registry();

  get contentType(): string {
    return this.#registry.contentType;
  }

  counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
    const name = this.#prefixed(options.name);
    if (!name.endsWith("_total")) throw new Error(`counter "${options.name}" must end in _total`);
    return new Counter({ ...this.#common(options), name });
  }

  gauge<L extends string = never>(options: MetricOptions<L> & { readonly collect?: CollectFunction<Gauge<L>> }): Gauge<L> {
    const name = UNITLESS_GAUGE_SHAPE.test(options.name) ? PREFIX + options.name : this.#prefixed(options.name);
    return new Gauge({ ...this.#common(options), name, collect: options.collect });
  }

  histogram<L extends string = never>(options: MetricOptions<L> & { readonly buckets?: readonly number[] }): Histogram<L> {
    return new Histogram({
      ...this.#common(options),
      name: this.#prefixed(options.name),
      // prom-client takes an explicit `buckets: undefined` over its defaults, so only pass real ones.
      ...(options.buckets && { buckets: [...options.buckets] }),
    });
  }

  /** Node's process and runtime metrics (CPU, memory, event loop, GC), prefixed like ours. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.#registry, prefix: PREFIX });
  }

  /** The Prometheus text exposition of every metric in this registry. */
  metrics(): Promise<string> {
    return this.#registry.metrics();
  }

  #common<L extends string>(options: MetricOptions<L>) {
    return { help: options.help, labelNames: options.labelNames ?? [], registers: [this.#registry] };
  }

  #prefixed(name: string): string {
    if (name.startsWith(PREFIX)) throw new Error(`metric name "${name}" already starts with ${PREFIX}; the registry adds it`);
    if (!NAME_SHAPE.test(name)) {
      throw new Error(`metric name "${name}" must be <subsystem>_<name>_<unit> in lowercase letters, digits and single underscores`);
    }
    return PREFIX + name;
  }
}
