/**
 * What the driver records about a disk in its RouterOS `comment`. The RDS does not remember where a
 * copy came from or when it was made, so a snapshot's source, size and creation time live here, on
 * the RDS itself, beside the disk they describe: they survive controller restarts and need no
 * Kubernetes object. Disks made by the earlier Go driver have no comment and are still ours by slot
 * prefix and base path; their metadata is simply unknown.
 *
 * Pairs are written `key:value`, not `key=value`: RouterOS wraps a long `;;;` comment onto indented
 * lines, and a continuation line starting with `key=` would read as the disk's own fields.
 */
export type DiskMetadata =
  | {
      readonly kind: "volume";
      /**
       * A volume made by a copy (restore, clone): its source and the size it must reach. RouterOS may
       * finish a copy in the background or ignore the size asked for, so a disk smaller than this is a
       * copy not yet complete, never a volume to serve.
       */
      readonly copy?: { readonly sourceId: string; readonly sizeBytes: bigint };
    }
  | {
      readonly kind: "snapshot";
      readonly sourceVolumeId: string;
      readonly sizeBytes: bigint;
      readonly createdAt: Date;
      /** The copy strategy that made it, so a later change of strategy cannot misread old snapshots. */
      readonly strategy: string;
    };

const TAG = "rds-csi:v1";

export function formatDiskComment(metadata: DiskMetadata): string {
  if (metadata.kind === "volume") {
    return metadata.copy ? `${TAG} kind:volume source:${metadata.copy.sourceId} size:${metadata.copy.sizeBytes}` : `${TAG} kind:volume`;
  }
  return [
    TAG,
    "kind:snapshot",
    `source:${metadata.sourceVolumeId}`,
    `size:${metadata.sizeBytes}`,
    `created:${metadata.createdAt.toISOString()}`,
    `strategy:${metadata.strategy}`,
  ].join(" ");
}

/** Undefined when the comment is not ours (absent, written by a person, or by the earlier driver). */
export function parseDiskComment(comment: string | undefined): DiskMetadata | undefined {
  const [tag, ...pairs] = (comment ?? "").trim().split(/\s+/);
  if (tag !== TAG) return undefined;
  const fields = new Map(pairs.map((pair) => [pair.slice(0, pair.indexOf(":")), pair.slice(pair.indexOf(":") + 1)]));
  const source = fields.get("source");
  const size = fields.get("size");
  if (fields.get("kind") === "volume") {
    return source && size && /^\d+$/.test(size) ? { kind: "volume", copy: { sourceId: source, sizeBytes: BigInt(size) } } : { kind: "volume" };
  }
  const created = new Date(fields.get("created") ?? "");
  const strategy = fields.get("strategy");
  if (fields.get("kind") !== "snapshot" || !source || !size || !/^\d+$/.test(size) || Number.isNaN(created.getTime()) || !strategy) {
    return undefined;
  }
  return { kind: "snapshot", sourceVolumeId: source, sizeBytes: BigInt(size), createdAt: created, strategy };
}
