import type { Target } from "./command-parser.js";
import { fileRecord } from "./file-records.js";
import type { FileEntry } from "./file-table.js";
import { formatPrintDetail } from "./format-print-detail.js";
import { selectItems, valueLookup } from "./item-target.js";
import type { RdsModel } from "./rds-model.js";
import { failure } from "./routeros-error.js";
import { matchesAll, type Condition } from "./where-clause.js";

/** `/file print detail [where ...]`: files and directories by name, numbered from 0. */
export function printFiles(model: RdsModel, detail: boolean, where: readonly Condition[], width: number): string {
  if (!detail) throw failure('the simulator only implements "print detail"');
  const records = model.files
    .list()
    .map((entry, index) => ({ ...fileRecord(entry), index }))
    .filter((record) => matchesAll(where, valueLookup(record)));
  return formatPrintDetail(records, [], width);
}

export function selectFiles(model: RdsModel, target: Target): FileEntry[] {
  return selectItems(
    target,
    model.files.list().map((entry) => ({ item: entry, name: entry.name, record: fileRecord(entry) })),
  );
}
