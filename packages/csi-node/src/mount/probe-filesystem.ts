import { open } from "node:fs/promises";
import { InternalError, type Exec } from "@rds-csi/core";
import { KernelDeviceNodes, type DeviceNodes } from "../nvme/device-nodes.js";
import { assertAbsolutePath } from "./mounter.js";

/**
 * What is on a device, as blkid sees it. Exactly one kind; the caller formats **only** on `empty`
 * (ARCHITECTURE invariant 7). Anything the probe cannot establish positively is thrown, never
 * reported as `empty`.
 */
export type ProbeResult =
  | { readonly kind: "empty" }
  | { readonly kind: "filesystem"; readonly type: string; /** blkid's UUID, when the filesystem has one */ readonly uuid?: string }
  | { readonly kind: "partition-table"; readonly type: string }
  | { readonly kind: "other"; readonly detail: string };

export interface FilesystemProbeOptions {
  /** Deadline of the blkid run. Default 30 s. */
  readonly timeoutMs?: number;
  /** What tells a block device from anything else; the kernel's by default. */
  readonly deviceNodes?: DeviceNodes;
}

/** blkid(8): "If the specified device or device addressed by specified token ... was not found, exit 2". */
const BLKID_NOTHING_FOUND = 2;

/** `probe(device)` via `blkid -p -o export <device>` (low-level probing, no cache: the cache can be stale). */
export class FilesystemProbe {
  private readonly timeoutMs: number;
  private readonly deviceNodes: DeviceNodes;

  constructor(
    private readonly exec: Exec,
    options: FilesystemProbeOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.deviceNodes = options.deviceNodes ?? new KernelDeviceNodes();
  }

  /** `signal` ends a blkid still running when the caller gives up. */
  async probe(device: string, signal?: AbortSignal): Promise<ProbeResult> {
    assertAbsolutePath("device", device);
    // blkid exits 2 — the very code that means "no signature" — for a path that does not exist, and
    // for a directory, without a word on stderr (util-linux 2.38, checked). So exit 2 alone cannot be
    // trusted: first prove the path is a block device whose first bytes can be read. A device that
    // fails to read (EIO on a dead path) throws here instead of reading as empty.
    await assertReadableBlockDevice(this.deviceNodes, device);

    const result = await this.exec.run("blkid", ["-p", "-o", "export", device], { timeoutMs: this.timeoutMs, ...(signal !== undefined && { signal }) });
    if (result.code === BLKID_NOTHING_FOUND) {
      if (result.stderr.trim() !== "") {
        throw new InternalError(`blkid on ${device} exited 2 with an error: ${result.stderr.trim()}`);
      }
      return { kind: "empty" };
    }
    if (result.code !== 0) {
      // 4: usage or other error; 8: ambivalent low-level result (several signatures). Neither is empty.
      const detail = result.stderr.trim() || `signal ${result.signal ?? "none"}`;
      throw new InternalError(`blkid on ${device} failed (exit ${result.code ?? "none"}): ${detail}`);
    }
    return classify(parseExport(result.stdout));
  }
}

/** The UUID of the filesystem on `device` (blkid), or undefined when blkid finds a filesystem without one. Anything else throws. */
export async function filesystemUuidOf(probe: Pick<FilesystemProbe, "probe">, device: string, signal?: AbortSignal): Promise<string | undefined> {
  const found = await probe.probe(device, signal);
  if (found.kind !== "filesystem") throw new InternalError(`${device} holds no filesystem (${found.kind})`);
  return found.uuid;
}

/** `KEY=value` lines of `blkid -o export`. */
export function parseExport(stdout: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return values;
}

/** Classifies a successful (exit 0) blkid report. A partition table wins over anything else. */
export function classify(values: ReadonlyMap<string, string>): ProbeResult {
  const ptType = values.get("PTTYPE");
  if (ptType) return { kind: "partition-table", type: ptType };
  const type = values.get("TYPE");
  const usage = values.get("USAGE");
  const uuid = values.get("UUID");
  if (type && usage === "filesystem") return { kind: "filesystem", type, ...(uuid ? { uuid } : {}) };
  if (type) return { kind: "other", detail: `${type} signature (usage ${usage ?? "unknown"})` };
  const keys = [...values.keys()].filter((key) => key !== "DEVNAME");
  return { kind: "other", detail: `blkid found a signature it did not name (keys: ${keys.join(", ") || "none"})` };
}

async function assertReadableBlockDevice(deviceNodes: DeviceNodes, device: string): Promise<void> {
  let number;
  try {
    number = await deviceNodes.numberAt(device);
  } catch (err) {
    throw new InternalError(`cannot probe ${device}: ${(err as Error).message}`, { cause: err });
  }
  if (number === undefined) throw new InternalError(`cannot probe ${device}: it does not exist`);
  if (number === null) throw new InternalError(`cannot probe ${device}: not a block device`);
  try {
    const handle = await open(device, "r");
    try {
      await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new InternalError(`cannot probe ${device}: reading its first block failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
