const MB = 1024 * 1024;

/** A service's /metrics text, as Prometheus would scrape it. */
export async function scrapeMetrics(metricsPort: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET /metrics answered HTTP ${response.status}`);
  return response.text();
}

export interface ProcessMemory {
  readonly residentMb: number;
  readonly heapUsedMb: number;
}

/** The service's own report of its memory on /metrics (resident set and V8 heap in use). */
export async function processMemory(metricsPort: number): Promise<ProcessMemory> {
  const text = await scrapeMetrics(metricsPort);
  const value = (name: string): number => {
    const match = new RegExp(`^${name} (\\S+)$`, "mu").exec(text);
    if (!match?.[1]) throw new Error(`no ${name} on /metrics`);
    return Number(match[1]) / MB;
  };
  return { residentMb: value("rds_csi_process_resident_memory_bytes"), heapUsedMb: value("rds_csi_nodejs_heap_size_used_bytes") };
}
