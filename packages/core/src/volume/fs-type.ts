/** Filesystems the node formats and grows; anything else is refused before a volume is made. */
export const FS_TYPES = ["ext4", "xfs", "ext3"] as const;
export type FsType = (typeof FS_TYPES)[number];

/** What a filesystem volume gets when neither its capability nor its StorageClass names one. */
export const DEFAULT_FS_TYPE: FsType = "ext4";

export function isFsType(value: string): value is FsType {
  return (FS_TYPES as readonly string[]).includes(value);
}
