import { sharingFields } from "./disk-records.js";
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
import type { ForeignDiskMode } from "./settings.js";

const TiB = 1024 ** 4;

function head(type: string, slot: string, model: string): RecordField[] {
  return [bareField("type", type), quotedField("slot", slot), quotedField("slot-default", ""), quotedField("parent", ""), bareField("fs", "-"), quotedField("model", model)];
}

const DISK_TAIL: readonly RecordField[] = [
  yesNoField("mount-filesystem", false),
  yesNoField("mount-read-only", false),
  yesNoField("compress", false),
  bareField("sector-size", "512"),
];

function raidMember(slot: string): RecordDraft {
  return {
    flags: "Br",
    comment: "",
    fields: [...head("nvme", slot, "SAMSUNG MZQL21T9HCJR-00A07"), bytesField("size", 1920383410176), ...DISK_TAIL, quotedField("raid-master", "raid10"), yesNoField("nvme-tcp-export", false), ...sharingFields()],
  };
}

/**
 * What a real RDS lists besides the pool and the driver's disks, for `foreignDisks: rds2216`. Shaped
 * after the RDS2216 samples in reference/routeros-notes.md (field names and order of a file disk and of a
 * RAID record) and the MikroTik manual's flags (`r` RAID member, `X` disabled); the odd ones are what an
 * operator's hand or an older RouterOS can leave: no size, an empty slot, a port that is not a number, a
 * comment holding `=`, a path with spaces. These records are print-only: `set`, `remove` and `copy-from`
 * never select them, they have no `/file` entries and use no pool space.
 */
export function foreignDiskRecords(mode: ForeignDiskMode): readonly RecordDraft[] {
  return mode === "none" ? [] : RDS2216_FOREIGN;
}

const RDS2216_FOREIGN: readonly RecordDraft[] = [
  raidMember("nvme1"),
  raidMember("nvme2"),
  {
    // The operator's own NVMe/TCP and iSCSI export, exactly as the RDS2216 sample prints it.
    flags: "Bt",
    comment: "",
    fields: [
      ...head("file", "vm-storage-001", "/raid10/vm-storage-001.img"),
      bytesField("size", TiB),
      ...DISK_TAIL,
      bareField("raid-master", "none"),
      yesNoField("nvme-tcp-export", true),
      bareField("nvme-tcp-server-port", "4420"),
      quotedField("nvme-tcp-server-nqn", "nqn.2026-09.com.mikrotik:rds2216.vm-storage-001"),
      quotedField("nvme-tcp-server-allow-host-name", ""),
      ...sharingFields({ iscsi: true }),
      pathField("file-path", "/raid10/vm-storage-001.img"),
      binarySizeField("file-size", TiB),
      bareField("file-offset", "0"),
    ],
  },
  {
    // A partition shared over NFS and SMB, mounted beside the pool.
    flags: "BM",
    comment: "",
    fields: [...head("partition", "raid10-share", "RAID10"), bytesField("size", 2 * TiB), yesNoField("mount-filesystem", true), quotedField("mount-point", "raid10-share"), bareField("raid-master", "none"), yesNoField("nvme-tcp-export", false), ...sharingFields({ nfs: true, smb: true })],
  },
  {
    // Disabled: its file is not open, so it prints no size.
    flags: "X",
    comment: "old backup, keep until 2027",
    fields: [...head("file", "old-backup", "/raid10/backups/old-backup.img"), ...DISK_TAIL, bareField("raid-master", "none"), yesNoField("nvme-tcp-export", false), ...sharingFields(), pathField("file-path", "/raid10/backups/old-backup.img"), bareField("file-offset", "0")],
  },
  {
    // No slot, a port RouterOS prints as a word, a comment with `=` and a path with spaces.
    flags: "Bt",
    comment: "owner=ops see ticket 42",
    fields: [
      ...head("file", "", "/raid10/VM images/win 11.img"),
      bytesField("size", 64 * 1024 ** 3),
      ...DISK_TAIL,
      bareField("raid-master", "none"),
      yesNoField("nvme-tcp-export", true),
      bareField("nvme-tcp-server-port", "auto"),
      quotedField("nvme-tcp-server-nqn", ""),
      quotedField("nvme-tcp-server-allow-host-name", ""),
      ...sharingFields(),
      pathField("file-path", "/raid10/VM images/win 11.img"),
      binarySizeField("file-size", 64 * 1024 ** 3),
      bareField("file-offset", "0"),
    ],
  },
];
