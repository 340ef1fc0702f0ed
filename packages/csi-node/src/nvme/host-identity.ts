import { randomUUID } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { FailedPreconditionError, isNqn } from "@rds-csi/core";

/** This node's NVMe host identity, as the RDS sees it in its access control and connection list. */
export interface HostIdentity {
  readonly hostNqn: string;
  readonly hostId: string;
}

const UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
const UUID_RE = new RegExp(`^${UUID}$`);
const UUID_NQN_RE = new RegExp(`^nqn\\.2014-08\\.org\\.nvmexpress:uuid:(${UUID})$`);

export function isValidHostId(id: string): boolean {
  return UUID_RE.test(id);
}

/**
 * Loads this node's host NQN and host id from `<etcDir>/nvme/hostnqn` and `<etcDir>/nvme/hostid` (the
 * host's `/etc`, mounted into the plugin), creating them once when missing, like `nvme gen-hostnqn`
 * does at package install. Never baked into the image: every node would then share one identity and
 * the RDS could not tell them apart. A present but malformed file is an error, never overwritten —
 * the host's identity may be registered on the RDS already.
 */
export async function loadHostIdentity(etcDir = "/etc"): Promise<HostIdentity> {
  const dir = join(etcDir, "nvme");
  let hostNqn = await readTrimmed(join(dir, "hostnqn"));
  let hostId = await readTrimmed(join(dir, "hostid"));
  // The driver's one NQN grammar (core's nvme/nqn.ts): the controller grants, and RouterOS accepts, no other.
  if (hostNqn !== undefined && !isNqn(hostNqn)) {
    throw new FailedPreconditionError(`${join(dir, "hostnqn")} holds no valid NVMe host NQN: ${JSON.stringify(hostNqn)}`);
  }
  if (hostId !== undefined && !isValidHostId(hostId)) {
    throw new FailedPreconditionError(`${join(dir, "hostid")} holds no valid NVMe host id (UUID): ${JSON.stringify(hostId)}`);
  }
  if (hostNqn === undefined || hostId === undefined) await mkdir(dir, { recursive: true, mode: 0o755 });
  if (hostNqn === undefined) {
    // Reuse the host id's UUID when only the NQN is missing, as nvme-cli's uuid-based NQNs do.
    const uuid = hostId ?? randomUUID();
    hostNqn = await persistOnce(join(dir, "hostnqn"), `nqn.2014-08.org.nvmexpress:uuid:${uuid}`);
  }
  if (hostId === undefined) {
    const fromNqn = UUID_NQN_RE.exec(hostNqn)?.[1];
    hostId = await persistOnce(join(dir, "hostid"), fromNqn ?? randomUUID());
  }
  return { hostNqn, hostId };
}

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, "utf8")).trim();
    return text === "" ? undefined : text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Writes `value` atomically (temp file, fsync, rename) so a crash never leaves a half-written identity.
 * Two plugin processes racing: the rename makes one value win; we re-read it so both use the winner.
 */
async function persistOnce(path: string, value: string): Promise<string> {
  const temp = `${path}.tmp-${process.pid}-${randomUUID()}`;
  try {
    const handle = await open(temp, "wx", 0o644);
    try {
      await handle.writeFile(`${value}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const existing = await readTrimmed(path);
    if (existing !== undefined) return existing;
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
  return (await readTrimmed(path)) ?? value;
}
