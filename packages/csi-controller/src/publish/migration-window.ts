import { InvalidArgumentError, printableExcerpt, STORAGE_CLASS_PARAMETERS } from "@rds-csi/core";

/**
 * The StorageClass parameter (and so volume_context key) that sets how long a live migration may keep
 * a volume on two nodes before it is reported, in whole seconds. CreateVolume validates it with
 * `parseMigrationWindow`; the migration monitor reads it back from the PersistentVolume.
 */
export const MIGRATION_WINDOW_KEY = STORAGE_CLASS_PARAMETERS.migrationWindowSeconds;
export const DEFAULT_MIGRATION_WINDOW_MS = 300_000;
const MAX_MIGRATION_WINDOW_SECONDS = 86_400;

/** The window in ms; the default when the key is absent; InvalidArgumentError naming the key otherwise. */
export function parseMigrationWindow(context: Readonly<Record<string, string>> | undefined): number {
  const raw = context?.[MIGRATION_WINDOW_KEY];
  if (raw === undefined) return DEFAULT_MIGRATION_WINDOW_MS;
  const seconds = /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_MIGRATION_WINDOW_SECONDS)) {
    throw new InvalidArgumentError(`${MIGRATION_WINDOW_KEY} must be a whole number of seconds from 1 to ${MAX_MIGRATION_WINDOW_SECONDS}, got "${printableExcerpt(raw)}"`);
  }
  return seconds * 1000;
}
