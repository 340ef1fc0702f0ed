import type { PrintFormat, Target } from "./command-parser.js";
import { fileRecord } from "./file-records.js";
import type { FileEntry } from "./file-table.js";
import { formatPrint } from "./format-print.js";
import { requiredValue, selectItems, valueLookup, type ItemIndex } from "./item-target.js";
import type { RdsModel } from "./rds-model.js";
import { matchesAll, type Condition } from "./where-clause.js";

/** `/file print detail|terse [where ...]`: files and directories by name, numbered from 0 as a full print numbers them. */
export function printFiles(model: RdsModel, format: PrintFormat, where: readonly Condition[], width: number): string {
  const index = files(model);
  const records = index
    .candidates(where)
    .map((entry) => ({ ...index.record(entry), index: model.files.position(entry.name) }))
    .filter((record) => matchesAll(where, valueLookup(record)));
  return formatPrint(records, [], format, width, model.settings().detailWrap);
}

export function selectFiles(model: RdsModel, target: Target): FileEntry[] {
  return selectItems(target, files(model));
}

/** The file catalogue as an indexed table: `name=` is a lookup. */
function files(model: RdsModel): ItemIndex<FileEntry> {
  return {
    byName: (name) => model.files.get(name),
    candidates: (conditions) => {
      const name = requiredValue(conditions, "name");
      if (name === undefined) return model.files.list();
      const entry = model.files.get(name);
      return entry === undefined ? [] : [entry];
    },
    record: fileRecord,
  };
}
