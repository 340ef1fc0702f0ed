import type { BackingFiles } from "./backing-files.js";
import type { DiskTable } from "./disk-table.js";
import type { FileTable } from "./file-table.js";
import type { Pool } from "./pool.js";
import type { CopyFromMode } from "./settings.js";

/** What the RouterOS commands act on: the simulated RDS's tables, pool and backing files. */
export interface RdsModel {
  readonly disks: DiskTable;
  readonly files: FileTable;
  readonly pool: Pool;
  readonly backing: BackingFiles;
  readonly copyFromMode: () => CopyFromMode;
  /** the clock for `last-modified`; injectable so printed output can be compared byte for byte */
  readonly now: () => Date;
}
