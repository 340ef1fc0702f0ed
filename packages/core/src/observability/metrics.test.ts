import { register as globalRegistry } from "prom-client";
import { MetricsRegistry } from "./metrics.js";

describe("MetricsRegistry", () => {
  it("prefixes every name with rds_csi_ and exposes the Prometheus text format", async () => {
    const metrics = new MetricsRegistry();
    const calls = metrics.counter({ name: "grpc_requests_total", help: "calls", labelNames: ["method", "code"] });
    calls.inc({ method: "CreateVolume", code: "OK" });
    expect(metrics.contentType).toContain("text/plain");
    const text = await metrics.metrics();
    expect(text).toContain("# HELP rds_csi_grpc_requests_total calls");
    expect(text).toContain("# TYPE rds_csi_grpc_requests_total counter");
    expect(text).toContain('rds_csi_grpc_requests_total{method="CreateVolume",code="OK"} 1');
  });

  it("makes gauges, set directly or computed on scrape", async () => {
    const metrics = new MetricsRegistry();
    metrics.gauge({ name: "node_volumes_staged_count", help: "staged" }).set(3);
    metrics.gauge({
      name: "controller_capacity_free_bytes",
      help: "free",
      labelNames: ["pool"],
      collect() {
        this.set({ pool: "storage" }, 1024);
      },
    });
    const text = await metrics.metrics();
    expect(text).toContain("rds_csi_node_volumes_staged_count 3");
    expect(text).toContain('rds_csi_controller_capacity_free_bytes{pool="storage"} 1024');
  });

  it("makes histograms with the given buckets or prom-client's defaults", async () => {
    const metrics = new MetricsRegistry();
    metrics.histogram({ name: "ssh_command_duration_seconds", help: "ssh", buckets: [0.1, 1] }).observe(0.5);
    metrics.histogram({ name: "exec_run_duration_seconds", help: "exec" }).observe(0.5);
    const text = await metrics.metrics();
    expect(text).toContain('rds_csi_ssh_command_duration_seconds_bucket{le="0.1"} 0');
    expect(text).toContain('rds_csi_ssh_command_duration_seconds_bucket{le="1"} 1');
    expect(text).not.toContain('rds_csi_ssh_command_duration_seconds_bucket{le="0.25"}');
    expect(text).toContain('rds_csi_exec_run_duration_seconds_bucket{le="0.25"} 0');
    expect(text).toContain("rds_csi_exec_run_duration_seconds_count 1");
  });

  it("keeps registries apart from each other and from prom-client's global registry", async () => {
    const first = new MetricsRegistry();
    const second = new MetricsRegistry();
    first.counter({ name: "volume_creates_total", help: "first" }).inc();
    second.counter({ name: "volume_creates_total", help: "second" }).inc(5);
    expect(await first.metrics()).toContain("rds_csi_volume_creates_total 1");
    expect(await second.metrics()).toContain("rds_csi_volume_creates_total 5");
    expect(globalRegistry.getSingleMetric("rds_csi_volume_creates_total")).toBeUndefined();
  });

  it("refuses a second metric with the same name in one registry", () => {
    const metrics = new MetricsRegistry();
    metrics.gauge({ name: "rds_pool_free_bytes", help: "h" });
    expect(() => metrics.gauge({ name: "rds_pool_free_bytes", help: "h" })).toThrow("already been registered");
  });

  it.each([
    ["Grpc_requests_total", "must be <subsystem>_<name>_<unit>"],
    ["requests_total", "must be <subsystem>_<name>_<unit>"],
    ["grpc__requests_total", "must be <subsystem>_<name>_<unit>"],
    ["grpc_requests_total_", "must be <subsystem>_<name>_<unit>"],
    ["1grpc_requests_total", "must be <subsystem>_<name>_<unit>"],
    ["grpc-requests_total", "must be <subsystem>_<name>_<unit>"],
    ["rds_csi_grpc_requests_total", "already starts with rds_csi_"],
    ["grpc_requests_count", 'counter "grpc_requests_count" must end in _total'],
  ])("refuses the counter name %s", (name, message) => {
    expect(() => new MetricsRegistry().counter({ name, help: "h" })).toThrow(message);
  });

  it("checks gauge and histogram names too", () => {
    const metrics = new MetricsRegistry();
    expect(() => metrics.gauge({ name: "Free", help: "h" })).toThrow('metric name "Free" must be');
    expect(() => metrics.histogram({ name: "latency", help: "h" })).toThrow('metric name "latency" must be');
  });

  it("takes a unitless <subsystem>_<name> for a gauge of a state or a count, and for nothing else", async () => {
    const metrics = new MetricsRegistry();
    metrics.gauge({ name: "reconciler_leader", help: "h" }).set(1);
    expect(await metrics.metrics()).toContain("rds_csi_reconciler_leader 1");
    expect(() => metrics.histogram({ name: "reconciler_latency", help: "h" })).toThrow('metric name "reconciler_latency" must be');
    expect(() => metrics.gauge({ name: "reconciler__leader", help: "h" })).toThrow('metric name "reconciler__leader" must be');
  });

  it("collects Node process metrics into its own registry under the same prefix", async () => {
    const metrics = new MetricsRegistry();
    metrics.collectProcessMetrics();
    const text = await metrics.metrics();
    expect(text).toContain("# TYPE rds_csi_process_cpu_user_seconds_total counter");
    expect(text).toContain("rds_csi_nodejs_heap_size_used_bytes");
    const samples = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
    expect(samples.filter((line) => !line.startsWith("rds_csi_"))).toEqual([]);
    expect((await new MetricsRegistry().metrics()).trim()).toBe("");
  });
});
