import { DISK_FLAGS, diskRecord, POOL_ONLY_PROPERTIES, poolRecord } from "./disk-records.js";
import { foreignDiskRecords } from "./foreign-disks.js";
import type { DiskItem } from "./disk-table.js";
import type { NumberedRecord } from "./format-print-detail.js";
import { formatPrint } from "./format-print.js";
import type { PrintFormat, Target } from "./command-parser.js";
import { requiredValue, selectItems, valueLookup, type ItemIndex } from "./item-target.js";
import type { RdsModel } from "./rds-model.js";
import { failure } from "./routeros-error.js";
import { matchesAll, type Condition } from "./where-clause.js";

/** The size of a disk is the size of its file. */
export function diskSize(model: RdsModel, disk: DiskItem): number {
  return model.files.get(disk.filePath.slice(1))?.size ?? 0;
}

/**
 * `/disk print detail|terse [where ...]`: the pool first (index 0), then other people's disks (the
 * foreignDisks setting), then the file disks in creation order, numbered as a full print numbers them. Only the disks the conditions can match are formatted, so
 * `where slot=...` costs the same however many disks there are.
 */
export function printDisks(model: RdsModel, format: PrintFormat, where: readonly Condition[], width: number): string {
  const records: NumberedRecord[] = [];
  const pool = poolRecord(model.pool);
  if (matchesAll(where, valueLookup(pool))) records.push({ ...pool, index: 0 });
  const foreign = foreignDiskRecords(model.settings().foreignDisks);
  foreign.forEach((record, position) => {
    if (matchesAll(where, valueLookup(record))) records.push({ ...record, index: position + 1 });
  });
  const index = fileDisks(model);
  for (const disk of index.candidates(where)) {
    const record = index.record(disk);
    if (matchesAll(where, valueLookup(record))) records.push({ ...record, index: model.disks.position(disk) + 1 + foreign.length });
  }
  return formatPrint(records, DISK_FLAGS, format, width, model.settings().detailWrap);
}

/** The file disks a target selects; the pool and other people's disks are printed but never changed. */
export function selectDisks(model: RdsModel, target: Target): DiskItem[] {
  return selectItems(target, fileDisks(model));
}

/**
 * `failure: disk is busy` when the diskBusy setting says RouterOS refuses to remove or resize a disk
 * while NVMe/TCP hosts are connected to it (not documented; text from the earlier driver's notes,
 * reference/rds-csi-control-plane.md §4.4).
 */
export function refuseIfBusy(model: RdsModel, disks: readonly DiskItem[]): void {
  if (model.settings().diskBusy !== "while-connected") return;
  if (disks.some((disk) => model.liveSessions(disk).length > 0)) throw failure("disk is busy");
}

/** Whether a slot is taken, by a file disk or by one of other people's disks. */
export function slotInUse(model: RdsModel, slot: string): boolean {
  return model.disks.bySlot(slot) !== undefined || foreignDiskRecords(model.settings().foreignDisks).some((record) => valueLookup(record)("slot") === slot);
}

/**
 * The file disks as an indexed table: `slot=` and `file-path=` are lookups, and a condition on a
 * property only the pool prints (`mount-point=`) rules every file disk out.
 */
function fileDisks(model: RdsModel): ItemIndex<DiskItem> {
  return {
    byName: (slot) => model.disks.bySlot(slot),
    candidates: (conditions) => {
      if (conditions.some((condition) => POOL_ONLY_PROPERTIES.has(condition.property))) return [];
      const slot = requiredValue(conditions, "slot");
      if (slot !== undefined) return present(model.disks.bySlot(slot));
      const filePath = requiredValue(conditions, "file-path");
      if (filePath !== undefined) return present(model.disks.byFilePath(filePath));
      return model.disks.list();
    },
    record: (disk) => diskRecord(disk, diskSize(model, disk)),
  };
}

function present<T>(item: T | undefined): T[] {
  return item === undefined ? [] : [item];
}
