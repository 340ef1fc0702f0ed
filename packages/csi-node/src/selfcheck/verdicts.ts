import type { CopyObservation } from "@rds-csi/core/routeros";

/**
 * What a copy made from the scratch volume turned out to hold; for a copy of the data, also how the RDS
 * made it (`observed`): at once or in the background, at the size asked for or at the source's.
 */
export type CopyVerdict =
  | { readonly result: "copies-data"; readonly observed?: CopyObservation }
  | { readonly result: "copies-settings-only" }
  | { readonly result: "error"; readonly message: string };

/** How the RDS treated this host once its allow-list named only another host. */
export type NewConnectionVerdict =
  | { readonly result: "refused" }
  | { readonly result: "admitted" }
  | { readonly result: "error"; readonly message: string };

export type LiveConnectionVerdict =
  | { readonly result: "dropped" }
  | { readonly result: "kept" }
  | { readonly result: "error"; readonly message: string };

export interface Verdicts {
  readonly copy: { readonly strategy: string; readonly snapshotRestore: CopyVerdict; readonly clone: CopyVerdict };
  readonly hostAccess: { readonly newConnections: NewConnectionVerdict; readonly liveConnections: LiveConnectionVerdict };
}

/** A controller setting and the value the verdicts call for. */
export interface SettingAdvice {
  readonly setting: string;
  readonly value: "verified" | "unverified";
  readonly reason: string;
}

/** Compares what a copy holds with the pattern written to its source. */
export function judgeCopy(pattern: Buffer, copy: Buffer, observed?: CopyObservation): CopyVerdict {
  if (copy.equals(pattern)) return observed ? { result: "copies-data", observed } : { result: "copies-data" };
  if (isAllZero(copy)) return { result: "copies-settings-only" };
  const differing = countDifferentBytes(pattern, copy);
  return { result: "error", message: `the copy holds neither the pattern nor zeros (${differing} of ${pattern.length} bytes differ)` };
}

/**
 * The controller settings these verdicts justify. `verified` only on positive proof; any error or
 * partial result keeps the safe default, because a wrong `verified` means empty snapshots or
 * exports anyone can attach.
 */
export function adviseSettings(verdicts: Verdicts): SettingAdvice[] {
  const { snapshotRestore, clone } = verdicts.copy;
  const copiesData = snapshotRestore.result === "copies-data" && clone.result === "copies-data";
  const refuses = verdicts.hostAccess.newConnections.result === "refused";
  return [
    {
      setting: "--copy-strategy-trust (env COPY_STRATEGY_TRUST) of rds-csi-controller",
      value: copiesData ? "verified" : "unverified",
      reason: copiesData
        ? `${verdicts.copy.strategy} copied the data for both snapshot+restore and clone: snapshots and clones can be enabled`
        : `${verdicts.copy.strategy} did not copy the data for ${[snapshotRestore.result !== "copies-data" ? "snapshot+restore" : "", clone.result !== "copies-data" ? "clone" : ""].filter(Boolean).join(" and ")}: keep snapshots and clones disabled, they would be empty`,
    },
    {
      setting: "--host-access-control-trust (env HOST_ACCESS_CONTROL_TRUST) of rds-csi-controller",
      value: refuses ? "verified" : "unverified",
      reason: refuses
        ? "the RDS refused a host its allow-list does not name: exports can be limited to the nodes they are published to"
        : "the RDS did not refuse a host its allow-list does not name: any host that reaches its NVMe/TCP port can attach every volume",
    },
  ];
}

export function describeCopy(verdict: CopyVerdict): string {
  switch (verdict.result) {
    case "copies-data": {
      const how = verdict.observed;
      if (!how) return "copies data";
      const parts = [how.background ? `in the background (complete after ${how.completedAfterMs} ms; the driver waits for it)` : "at once"];
      if (how.sizeIgnored) parts.push("ignoring the size asked for (the driver grows the copy)");
      return `copies data, ${parts.join(", ")}`;
    }
    case "copies-settings-only":
      return "copies settings only (empty copy)";
    case "error":
      return `error: ${verdict.message}`;
  }
}

export function describeNewConnections(verdict: NewConnectionVerdict): string {
  switch (verdict.result) {
    case "refused":
      return "refuses new connections";
    case "admitted":
      return "does not refuse new connections (allow-list ignored)";
    case "error":
      return `error: ${verdict.message}`;
  }
}

export function describeLiveConnections(verdict: LiveConnectionVerdict): string {
  switch (verdict.result) {
    case "dropped":
      return "drops live connections";
    case "kept":
      return "keeps live connections";
    case "error":
      return `error: ${verdict.message}`;
  }
}

function isAllZero(data: Buffer): boolean {
  for (const byte of data) if (byte !== 0) return false;
  return true;
}

function countDifferentBytes(a: Buffer, b: Buffer): number {
  let count = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) count++;
  return count;
}
