import type { Target } from "./command-parser.js";
import { DISK_FLAGS, diskRecord, poolRecord } from "./disk-records.js";
import type { DiskItem } from "./disk-table.js";
import { formatPrintDetail, type NumberedRecord } from "./format-print-detail.js";
import { selectItems, valueLookup, type Candidate } from "./item-target.js";
import type { RdsModel } from "./rds-model.js";
import { failure } from "./routeros-error.js";
import { matchesAll, type Condition } from "./where-clause.js";

/** The size of a disk is the size of its file. */
export function diskSize(model: RdsModel, disk: DiskItem): number {
  return model.files.get(disk.filePath.slice(1))?.size ?? 0;
}

/** `/disk` as listed: the pool first, then the file disks in creation order, numbered from 0. */
function diskMenuRecords(model: RdsModel): NumberedRecord[] {
  return [poolRecord(model.pool), ...model.disks.list().map((disk) => diskRecord(disk, diskSize(model, disk)))].map(
    (record, index) => ({ ...record, index }),
  );
}

/** `/disk print detail [where ...]` */
export function printDisks(model: RdsModel, detail: boolean, where: readonly Condition[], width: number): string {
  if (!detail) throw failure('the simulator only implements "print detail"');
  const records = diskMenuRecords(model).filter((record) => matchesAll(where, valueLookup(record)));
  return formatPrintDetail(records, DISK_FLAGS, width);
}

/** The file disks a target selects; the pool record is printed but never changed. */
export function selectDisks(model: RdsModel, target: Target): DiskItem[] {
  const candidates: Candidate<DiskItem>[] = model.disks
    .list()
    .map((disk) => ({ item: disk, name: disk.slot, record: diskRecord(disk, diskSize(model, disk)) }));
  return selectItems(target, candidates);
}
