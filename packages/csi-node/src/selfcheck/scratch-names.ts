import { createHash, randomBytes } from "node:crypto";
import { SNAPSHOT_SLOT_PREFIX, VOLUME_SLOT_PREFIX } from "@rds-csi/core";

/**
 * Names of the scratch objects one self-check run makes on the RDS. They carry the driver's slot
 * prefixes, so the RdsClient's ownership rules (list and delete only `pvc-`/`snap-` under the base
 * path) hold for them, and a `selfcheck` tag plus the host and the start time, so a later run can
 * tell a leftover of a crashed run from a disk of a run in progress on another node.
 *
 *   pvc-selfcheck-<host>-<start>-<run>[-restore|-clone]   snap-selfcheck-<host>-<start>-<run>
 */
export interface ScratchNames {
  readonly source: string;
  readonly snapshot: string;
  readonly restored: string;
  readonly clone: string;
}

export interface ScratchOwner {
  /** first 8 hex digits of SHA-256 of the host NQN */
  readonly host: string;
  readonly startedAt: Date;
}

const TAG = "selfcheck";
const SCRATCH = new RegExp(`^(?:${VOLUME_SLOT_PREFIX}|${SNAPSHOT_SLOT_PREFIX})${TAG}-([0-9a-f]{8})-([0-9a-z]{1,11})-[0-9a-f]{8}(?:-restore|-clone)?$`);

export function hostTag(hostNqn: string): string {
  return createHash("sha256").update(hostNqn).digest("hex").slice(0, 8);
}

export function scratchNames(hostNqn: string, startedAt: Date, run = randomBytes(4).toString("hex")): ScratchNames {
  const base = `${TAG}-${hostTag(hostNqn)}-${Math.floor(startedAt.getTime() / 1000).toString(36)}-${run}`;
  return {
    source: `${VOLUME_SLOT_PREFIX}${base}`,
    snapshot: `${SNAPSHOT_SLOT_PREFIX}${base}`,
    restored: `${VOLUME_SLOT_PREFIX}${base}-restore`,
    clone: `${VOLUME_SLOT_PREFIX}${base}-clone`,
  };
}

/** Who made a scratch object and when; undefined for anything that is not a self-check's scratch object. */
export function scratchOwner(id: string): ScratchOwner | undefined {
  const match = SCRATCH.exec(id);
  if (!match) return undefined;
  return { host: match[1]!, startedAt: new Date(parseInt(match[2]!, 36) * 1000) };
}

/**
 * A leftover is safe to remove when this host made it (runs on one host do not overlap: run-lock.ts) or when it is
 * older than any run can last (so the run on another node that made it is over).
 */
export function isStaleScratch(id: string, hostNqn: string, now: Date, maxRunMs: number): boolean {
  const owner = scratchOwner(id);
  if (!owner) return false;
  return owner.host === hostTag(hostNqn) || now.getTime() - owner.startedAt.getTime() > maxRunMs;
}
