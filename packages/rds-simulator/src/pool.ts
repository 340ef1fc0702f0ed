import type { FileTable } from "./file-table.js";

/** What a real pool keeps across reboots; persisted. The UUIDs are generated once. */
export interface PoolIdentity {
  /** the slot and mount point, and the first component of every file path on it (`raid10`) */
  readonly name: string;
  readonly size: number;
  /** filesystem UUID (`fs-uuid=`) */
  readonly fsUuid: string;
  /** md RAID UUID in mdadm's four-group form (`raid-uuid=`) */
  readonly raidUuid: string;
}

export interface PoolOptions {
  readonly identity: PoolIdentity;
  readonly files: FileTable;
  /** the disk-full fault: the pool then reports no free space and refuses to grow anything */
  readonly isDiskFull: () => boolean;
}

// A real RDS pool (XFS) was formatted with one inode per 10 KiB: 16 003 143 565 312 bytes, 1 562 806 656 inodes.
const BYTES_PER_INODE = 10240;
const RESERVED_INODES = 4;

/** The RAID pool every file disk lives on: its size and its free space. */
export class Pool {
  readonly name: string;
  readonly size: number;
  readonly identity: PoolIdentity;
  readonly #files: FileTable;
  readonly #isDiskFull: () => boolean;

  constructor(options: PoolOptions) {
    this.name = options.identity.name;
    this.size = options.identity.size;
    this.identity = options.identity;
    this.#files = options.files;
    this.#isDiskFull = options.isDiskFull;
  }

  freeBytes(): number {
    if (this.#isDiskFull()) return 0;
    return Math.max(0, this.size - this.#files.usedBytes());
  }

  totalInodes(): number {
    return Math.floor(this.size / BYTES_PER_INODE);
  }

  freeInodes(): number {
    return Math.max(0, this.totalInodes() - RESERVED_INODES - this.#files.count);
  }
}
