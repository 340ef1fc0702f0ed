import type { DiskItem } from "./disk-table.js";
import type { FlagDefinition } from "./format-print-detail.js";
import type { Pool } from "./pool.js";
import {
  bareField,
  binarySizeField,
  bytesField,
  pathField,
  quotedField,
  type RecordDraft,
  type RecordField,
  yesNoField,
} from "./record-fields.js";

/** The `/disk` flags the simulator sets, in legend order. */
export const DISK_FLAGS: readonly FlagDefinition[] = [
  { letter: "X", name: "DISABLED" },
  { letter: "B", name: "BLOCK-DEVICE" },
  { letter: "M", name: "MOUNTED" },
  { letter: "r", name: "RAID-MEMBER" },
  { letter: "t", name: "NVME-TCP-EXPORT" },
];

/** The sharing fields every disk record ends its export part with; the simulator's own disks share nothing. */
export function sharingFields(options: { readonly iscsi?: boolean; readonly nfs?: boolean; readonly smb?: boolean } = {}): RecordField[] {
  return [
    yesNoField("iscsi-export", options.iscsi ?? false),
    yesNoField("nfs-sharing", options.nfs ?? false),
    yesNoField("smb-sharing", options.smb ?? false),
    yesNoField("media-sharing", false),
    bareField("media-interface", "none"),
    yesNoField("swap", false),
  ];
}

const SHARING_FIELDS: readonly RecordField[] = sharingFields();

/** The pool as a `type=raid` record, with the fields and order of a real RDS2216's RAID record. */
export function poolRecord(pool: Pool): RecordDraft {
  const free = pool.freeBytes();
  const use = pool.size === 0 ? 0 : Math.round(((pool.size - free) / pool.size) * 100);
  return {
    flags: "BM",
    comment: "",
    fields: [
      bareField("type", "raid"),
      quotedField("slot", pool.name),
      quotedField("slot-default", ""),
      quotedField("parent", ""),
      quotedField("fs-label", pool.name),
      quotedField("fs-uuid", pool.identity.fsUuid),
      bareField("fs", "xfs"),
      quotedField("model", "RAID10"),
      bytesField("size", pool.size),
      bytesField("free", free),
      bytesField("total-inodes", pool.totalInodes()),
      bytesField("free-inodes", pool.freeInodes()),
      bareField("use", `${use}%`),
      quotedField("mount-point", pool.name),
      yesNoField("mount-filesystem", true),
      yesNoField("mount-read-only", false),
      yesNoField("compress", false),
      bareField("sector-size", "512"),
      bareField("raid-type", "10"),
      bareField("raid-device-count", "4"),
      bareField("raid-max-component-size", "none"),
      bareField("raid-chunk-size", "256K"),
      bareField("raid-master", "none"),
      quotedField("state", "clean"),
      quotedField("raid-uuid", pool.identity.raidUuid),
      yesNoField("nvme-tcp-export", false),
      ...SHARING_FIELDS,
    ],
  };
}

/**
 * A file disk with the fields and order of a real RDS2216 (there is no `status=`). A disk that is not
 * exported shows `nvme-tcp-export=no` without the server fields.
 */
export function diskRecord(disk: DiskItem, size: number): RecordDraft {
  const exportFields = disk.nvmeTcpExport
    ? [
        yesNoField("nvme-tcp-export", true),
        bareField("nvme-tcp-server-port", String(disk.nvmeTcpServerPort)),
        quotedField("nvme-tcp-server-nqn", disk.nvmeTcpServerNqn),
        quotedField("nvme-tcp-server-allow-host-name", disk.nvmeTcpServerAllowHostName),
      ]
    : [yesNoField("nvme-tcp-export", false)];
  return {
    flags: disk.nvmeTcpExport ? "Bt" : "B",
    comment: disk.comment,
    fields: [
      bareField("type", "file"),
      quotedField("slot", disk.slot),
      quotedField("slot-default", ""),
      quotedField("parent", ""),
      bareField("fs", "-"),
      quotedField("model", disk.filePath),
      bytesField("size", size),
      yesNoField("mount-filesystem", false),
      yesNoField("mount-read-only", false),
      yesNoField("compress", false),
      bareField("sector-size", "512"),
      bareField("raid-master", "none"),
      ...exportFields,
      ...SHARING_FIELDS,
      pathField("file-path", disk.filePath),
      binarySizeField("file-size", size),
      bareField("file-offset", "0"),
    ],
  };
}

/** The properties only the pool record prints: a condition on one of them never matches a file disk (a test keeps this in step with the records). */
export const POOL_ONLY_PROPERTIES: ReadonlySet<string> = new Set([
  "fs-label", "fs-uuid", "free", "total-inodes", "free-inodes", "use", "mount-point", "raid-type", "raid-device-count",
  "raid-max-component-size", "raid-chunk-size", "state", "raid-uuid",
]);

/** Every property a `/disk` record can print: what `where` and `[find]` may test (a test keeps it in step with the records). */
export const DISK_PROPERTIES: ReadonlySet<string> = new Set([
  "type", "slot", "slot-default", "parent", "fs-label", "fs-uuid", "fs", "model", "size", "free", "total-inodes",
  "free-inodes", "use", "mount-point", "mount-filesystem", "mount-read-only", "compress", "sector-size", "raid-type",
  "raid-device-count", "raid-max-component-size", "raid-chunk-size", "raid-master", "state", "raid-uuid",
  "nvme-tcp-export", "nvme-tcp-server-port", "nvme-tcp-server-nqn", "nvme-tcp-server-allow-host-name", "iscsi-export",
  "nfs-sharing", "smb-sharing", "media-sharing", "media-interface", "swap", "file-path", "file-size", "file-offset",
]);
