import type { BackingFiles } from "./backing-files.js";
import type { DiskItem, DiskTable } from "./disk-table.js";
import type { FileTable } from "./file-table.js";
import type { Pool } from "./pool.js";
import type { SimulatorSettings } from "./settings.js";

/** What the RouterOS commands act on: the simulated RDS's tables, pool and backing files. */
export interface RdsModel {
  readonly disks: DiskTable;
  readonly files: FileTable;
  readonly pool: Pool;
  readonly backing: BackingFiles;
  /** the settings in force now (copy-from, busy disks, foreign disks) */
  readonly settings: () => SimulatorSettings;
  /** copies the source's data into the (empty) file step by step, then sets its final size (copyFrom: data-in-background) */
  readonly copyInBackground: (sourceName: string, sourceSize: number, name: string, finalSize: number) => void;
  /** host NQNs connected over NVMe/TCP to this disk's export now */
  readonly liveSessions: (disk: DiskItem) => readonly string[];
  /** the clock for `last-modified`; injectable so printed output can be compared byte for byte */
  readonly now: () => Date;
}
