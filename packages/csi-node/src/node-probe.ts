import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { CheckResult, Exec } from "@rds-csi/core";

/** `nvme version` should answer at once; a hung nvme-cli is "not ready", not a hung probe. */
export const NVME_VERSION_TIMEOUT_MS = 3_000;
/** kubelet and the CSI Probe ask often; nvme-cli is run at most this often. */
export const NVME_CHECK_CACHE_MS = 5_000;

export interface NodeProbeOptions {
  readonly exec: Exec;
  readonly nvmeCli: string;
  readonly sysfsRoot: string;
  readonly timeoutMs?: number;
  readonly cacheMs?: number;
  readonly now?: () => number;
}

/**
 * Readiness of the node plugin (issue 5): nvme-cli runs (`nvme version`, with a deadline, cached for
 * a few seconds) and the sysfs root has `class/`. Both are what every stage needs; without them the
 * node answers nothing useful.
 */
export class NodeProbe {
  readonly #options: NodeProbeOptions;
  #cached: { at: number; result: Promise<CheckResult> } | undefined;

  constructor(options: NodeProbeOptions) {
    this.#options = options;
  }

  /** A HealthCheck (runService `ready`). */
  readonly check = async (signal?: AbortSignal): Promise<CheckResult> => {
    signal?.throwIfAborted();
    const sysfs = await this.#sysfs();
    if (!sysfs.ok) return sysfs;
    return this.#nvme();
  };

  async #sysfs(): Promise<CheckResult> {
    const classDir = join(this.#options.sysfsRoot, "class");
    try {
      if ((await stat(classDir)).isDirectory()) return { ok: true };
      return { ok: false, detail: `sysfs root ${this.#options.sysfsRoot} has no class/ directory` };
    } catch (err) {
      return { ok: false, detail: `sysfs root ${this.#options.sysfsRoot} has no class/ directory (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
    }
  }

  #nvme(): Promise<CheckResult> {
    const now = (this.#options.now ?? Date.now)();
    const cacheMs = this.#options.cacheMs ?? NVME_CHECK_CACHE_MS;
    // The in-flight run is shared too; it carries its own deadline, not a caller's signal.
    if (this.#cached !== undefined && now - this.#cached.at < cacheMs) return this.#cached.result;
    const result = this.#runVersion();
    this.#cached = { at: now, result };
    return result;
  }

  async #runVersion(): Promise<CheckResult> {
    const { exec, nvmeCli } = this.#options;
    try {
      const run = await exec.run(nvmeCli, ["version"], { timeoutMs: this.#options.timeoutMs ?? NVME_VERSION_TIMEOUT_MS });
      if (run.code === 0) return { ok: true };
      return { ok: false, detail: `${nvmeCli} version exited ${run.code ?? run.signal}` };
    } catch (err) {
      return { ok: false, detail: `${nvmeCli} version failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}
