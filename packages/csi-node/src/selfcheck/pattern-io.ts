import { randomUUID } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InternalError, type Exec } from "@rds-csi/core";

/** How the self-check puts its pattern on a device and reads a device back, past every cache. */
export interface PatternIo {
  write(devicePath: string, data: Buffer, signal: AbortSignal): Promise<void>;
  read(devicePath: string, length: number, signal: AbortSignal): Promise<Buffer>;
}

/** dd's block size; pattern lengths are whole multiples of it. */
export const PATTERN_BLOCK_BYTES = 1024 * 1024;

export interface DirectPatternIoOptions {
  readonly exec: Exec;
  /** a private directory for the staging file (the pattern or what was read) */
  readonly tempDir: string;
  readonly timeoutMs: number;
}

/**
 * `dd` with O_DIRECT: Node cannot hand the kernel the aligned buffers O_DIRECT needs, and a read
 * through the page cache could return what this host wrote instead of what the RDS holds. The write
 * also ends with fsync, so the data is on the RDS before a copy of it is made. dd runs through Exec,
 * so a hung device costs the step's deadline, not the process.
 */
export class DirectPatternIo implements PatternIo {
  constructor(private readonly options: DirectPatternIoOptions) {}

  async write(devicePath: string, data: Buffer, signal: AbortSignal): Promise<void> {
    await this.#withStagingFile(async (file) => {
      await writeFile(file, data, { signal });
      await this.#dd(["if=" + file, "of=" + devicePath, "oflag=direct", "conv=fsync,notrunc", `count=${blocks(data.length)}`], signal);
    });
  }

  async read(devicePath: string, length: number, signal: AbortSignal): Promise<Buffer> {
    return this.#withStagingFile(async (file) => {
      await this.#dd(["if=" + devicePath, "of=" + file, "iflag=direct", `count=${blocks(length)}`], signal);
      const data = await readFile(file, { signal });
      if (data.length !== length) throw new InternalError(`read ${data.length} of ${length} bytes from ${devicePath}`);
      return data;
    });
  }

  async #dd(args: readonly string[], signal: AbortSignal): Promise<void> {
    const result = await this.options.exec.run("dd", [...args, `bs=${PATTERN_BLOCK_BYTES}`, "status=none"], { timeoutMs: this.options.timeoutMs, signal });
    if (result.code !== 0) throw new InternalError(`dd ${args.join(" ")} failed (exit ${result.code ?? result.signal}): ${result.stderr.trim()}`);
  }

  async #withStagingFile<T>(work: (file: string) => Promise<T>): Promise<T> {
    const file = join(this.options.tempDir, `pattern-${randomUUID()}`);
    try {
      return await work(file);
    } finally {
      await rm(file, { force: true });
    }
  }
}

function blocks(length: number): number {
  if (length <= 0 || length % PATTERN_BLOCK_BYTES !== 0) throw new RangeError(`pattern length ${length} is not a positive multiple of ${PATTERN_BLOCK_BYTES}`);
  return length / PATTERN_BLOCK_BYTES;
}
