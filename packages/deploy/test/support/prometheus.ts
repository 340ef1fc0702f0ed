import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "@rds-csi/testkit";

export interface ScrapeTarget {
  readonly port: number;
  /** added to every series of the target, as Kubernetes service discovery would (namespace, pod) */
  readonly labels: Readonly<Record<string, string>>;
}

export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
}

/** A real Prometheus server (Debian's prometheus package) scraping `targets` every second on loopback. */
export interface Prometheus {
  readonly url: string;
  /** an instant query; throws with Prometheus's error for invalid PromQL */
  query(expr: string): Promise<PromSample[]>;
  /** metric names some target exposes (HELP/TYPE lines count, with or without samples) */
  exposedMetrics(): Promise<Set<string>>;
  stop(): Promise<void>;
}

export async function startPrometheus(dir: string, targets: readonly ScrapeTarget[]): Promise<Prometheus> {
  const port = await freePort();
  const config = {
    global: { scrape_interval: "1s", scrape_timeout: "900ms", evaluation_interval: "1s" },
    scrape_configs: targets.map((target, i) => ({ job_name: `target-${i}`, static_configs: [{ targets: [`127.0.0.1:${target.port}`], labels: target.labels }] })),
  };
  const configFile = join(dir, "prometheus.yml");
  await writeFile(configFile, JSON.stringify(config));
  const child = spawn("prometheus", [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await once(child, "exit");
  };
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5_000) });
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async query(expr) {
      const data = await api<{ result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result;
    },
    async exposedMetrics() {
      const data = await api<{ metric: string }[]>("/api/v1/targets/metadata");
      return new Set(data.map((entry) => entry.metric));
    },
    stop,
  };
}
