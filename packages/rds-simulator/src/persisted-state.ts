import type { DiskItem } from "./disk-table.js";
import type { FileEntry } from "./file-table.js";
import type { PoolIdentity } from "./pool.js";
import { applySettingsPatch, DEFAULT_SETTINGS, type SettingsPatch, type SimulatorSettings } from "./settings.js";

/** Everything that survives a restart of the simulator: `<stateDir>/state.json` with the journal's changes replayed on it. */
export interface PersistedState {
  readonly version: 1;
  /** the SSH host private key (OpenSSH format) */
  readonly hostKey: string;
  readonly pool: PoolIdentity;
  readonly settings: SimulatorSettings;
  readonly nextDiskId: number;
  readonly disks: readonly DiskItem[];
  readonly files: readonly FileEntry[];
}

/**
 * What one mutating command changed, as a line of `<stateDir>/state.journal`: the disks and files it
 * touched as they are afterwards, and the ones it removed. Each line holds whole items, never deltas,
 * so replaying a line onto a state that already has its effect changes nothing.
 */
export interface StateChange {
  /** numbers the lines; the snapshot names the last one it already holds */
  readonly seq: number;
  readonly nextDiskId: number;
  readonly disks: readonly DiskItem[];
  readonly removedDisks: readonly number[];
  readonly files: readonly FileEntry[];
  readonly removedFiles: readonly string[];
}

/** A state file that cannot be read back; the message names the field. */
export class InvalidStateError extends Error {
  override readonly name = "InvalidStateError";
}

/** Checks a parsed state file field by field instead of trusting its shape. */
export function decodeState(json: unknown): PersistedState {
  const root = record(json, "state");
  if (root.version !== 1) throw new InvalidStateError(`state: unsupported version ${JSON.stringify(root.version)}`);
  const pool = record(root.pool, "pool");
  let settings: SimulatorSettings;
  try {
    settings = applySettingsPatch(DEFAULT_SETTINGS, record(root.settings, "settings") as SettingsPatch);
  } catch (err) {
    throw new InvalidStateError(`settings: ${(err as Error).message}`);
  }
  return {
    version: 1,
    hostKey: text(root.hostKey, "hostKey"),
    pool: {
      name: text(pool.name, "pool.name"),
      size: count(pool.size, "pool.size"),
      fsUuid: text(pool.fsUuid, "pool.fsUuid"),
      raidUuid: text(pool.raidUuid, "pool.raidUuid"),
    },
    settings,
    nextDiskId: count(root.nextDiskId, "nextDiskId"),
    disks: list(root.disks, "disks").map((value, i) => decodeDisk(value, `disks[${i}]`)),
    files: list(root.files, "files").map((value, i) => decodeFile(value, `files[${i}]`)),
  };
}

/** `state.json`: the state and the last journal line it holds (0: none). */
export function decodeSnapshot(json: unknown): { readonly state: PersistedState; readonly journalSeq: number } {
  const journalSeq = record(json, "state").journalSeq;
  return { state: decodeState(json), journalSeq: journalSeq === undefined ? 0 : count(journalSeq, "journalSeq") };
}

export function decodeChange(json: unknown, at: string): StateChange {
  const change = record(json, at);
  return {
    seq: count(change.seq, `${at}.seq`),
    nextDiskId: count(change.nextDiskId, `${at}.nextDiskId`),
    disks: list(change.disks, `${at}.disks`).map((value, i) => decodeDisk(value, `${at}.disks[${i}]`)),
    removedDisks: list(change.removedDisks, `${at}.removedDisks`).map((value, i) => count(value, `${at}.removedDisks[${i}]`)),
    files: list(change.files, `${at}.files`).map((value, i) => decodeFile(value, `${at}.files[${i}]`)),
    removedFiles: list(change.removedFiles, `${at}.removedFiles`).map((value, i) => text(value, `${at}.removedFiles[${i}]`)),
  };
}

/** The state with the changes replayed in order. */
export function applyChanges(state: PersistedState, changes: readonly StateChange[]): PersistedState {
  if (changes.length === 0) return state;
  const disks = new Map(state.disks.map((disk) => [disk.id, disk]));
  const files = new Map(state.files.map((file) => [file.name, file]));
  let nextDiskId = state.nextDiskId;
  for (const change of changes) {
    for (const id of change.removedDisks) disks.delete(id);
    for (const disk of change.disks) disks.set(disk.id, disk);
    for (const name of change.removedFiles) files.delete(name);
    for (const file of change.files) files.set(file.name, file);
    nextDiskId = Math.max(nextDiskId, change.nextDiskId);
  }
  return {
    ...state,
    nextDiskId,
    disks: [...disks.values()].sort((a, b) => a.id - b.id),
    files: [...files.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

function decodeDisk(value: unknown, at: string): DiskItem {
  const disk = record(value, at);
  return {
    id: count(disk.id, `${at}.id`),
    slot: text(disk.slot, `${at}.slot`),
    filePath: text(disk.filePath, `${at}.filePath`),
    comment: text(disk.comment, `${at}.comment`),
    nvmeTcpExport: flag(disk.nvmeTcpExport, `${at}.nvmeTcpExport`),
    nvmeTcpServerPort: count(disk.nvmeTcpServerPort, `${at}.nvmeTcpServerPort`),
    nvmeTcpServerNqn: text(disk.nvmeTcpServerNqn, `${at}.nvmeTcpServerNqn`),
    nvmeTcpServerAllowHostName: text(disk.nvmeTcpServerAllowHostName, `${at}.nvmeTcpServerAllowHostName`),
  };
}

function decodeFile(value: unknown, at: string): FileEntry {
  const file = record(value, at);
  const type = file.type;
  if (type !== "file" && type !== "directory") throw new InvalidStateError(`${at}.type: expected "file" or "directory"`);
  return {
    name: text(file.name, `${at}.name`),
    type,
    size: count(file.size, `${at}.size`),
    lastModified: text(file.lastModified, `${at}.lastModified`),
  };
}

function record(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidStateError(`${at}: expected an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, at: string): unknown[] {
  if (!Array.isArray(value)) throw new InvalidStateError(`${at}: expected an array`);
  return value;
}

function text(value: unknown, at: string): string {
  if (typeof value !== "string") throw new InvalidStateError(`${at}: expected a string`);
  return value;
}

function count(value: unknown, at: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidStateError(`${at}: expected a whole number >= 0`);
  }
  return value;
}

function flag(value: unknown, at: string): boolean {
  if (typeof value !== "boolean") throw new InvalidStateError(`${at}: expected true or false`);
  return value;
}
