import { withDeadline, type Logger } from "@rds-csi/core";
import { type EventRecorder, type PersistentVolume } from "@rds-csi/core/k8s";
import { accessPolicyOfPersistentVolume } from "./access-policy.js";
import { DEFAULT_MIGRATION_WINDOW_MS, parseMigrationWindow } from "./migration-window.js";
import type { VolumeAttachments } from "./volume-attachment-view.js";

/** A volume attached to two nodes under the migration policy. */
export interface Migration {
  readonly volumeId: string;
  readonly nodes: readonly string[];
  /** when the second attachment was created: the migration's start */
  readonly startedAt: number;
  readonly windowMs: number;
  readonly persistentVolume: PersistentVolume | undefined;
  /** one migration: the volume plus its two attachments, so a later migration of the same volume is a new one */
  readonly key: string;
}

/**
 * The migrations in progress, from attachments alone (nothing to lose at a restart): RWX block volumes
 * with two attached VolumeAttachments, deleted-but-present ones included (the source is still
 * connected until its ControllerUnpublish succeeded). An invalid window on the PV falls back to the
 * default; `onInvalidWindow` hears of it, since CreateVolume should have refused it.
 */
export function migrationsOf(volumes: readonly VolumeAttachments[], onInvalidWindow: (volumeId: string, err: Error) => void): Migration[] {
  const migrations: Migration[] = [];
  for (const volume of volumes) {
    if (accessPolicyOfPersistentVolume(volume.persistentVolume).kind !== "migration") continue;
    const attached = volume.attachments.filter((record) => record.attached);
    if (attached.length < 2) continue;
    let windowMs = DEFAULT_MIGRATION_WINDOW_MS;
    try {
      windowMs = parseMigrationWindow(volume.persistentVolume?.spec?.csi?.volumeAttributes);
    } catch (err) {
      onInvalidWindow(volume.volumeId, err as Error);
    }
    migrations.push({
      volumeId: volume.volumeId,
      nodes: attached.map((record) => record.node).sort(),
      startedAt: Math.max(...attached.map((record) => record.createdAt ?? 0)),
      windowMs,
      persistentVolume: volume.persistentVolume,
      key: `${volume.volumeId}/${attached.map((record) => record.name).sort().join(",")}`,
    });
  }
  return migrations;
}

export interface MigrationMonitorOptions {
  readonly volumes: () => readonly VolumeAttachments[];
  readonly events: EventRecorder;
  readonly onOverdue: () => void;
  readonly logger: Logger;
  /** how often to look; default 30 s */
  readonly intervalMs?: number;
  /** deadline of one event post; default 10 s */
  readonly eventTimeoutMs?: number;
}

/**
 * Reports a live migration that keeps a volume on two nodes past its window: a Warning event
 * `MigrationOverdue` on the PVC (found through the PV's claimRef) and one count of
 * `controller_migrations_overdue_total`. It only reports: detaching either node could cut a VM off its
 * disk mid-migration, and the right side to keep is for KubeVirt to decide.
 *
 * Each migration is counted once per process; its event is retried on the next sweep until posted.
 */
export class MigrationMonitor {
  readonly #options: MigrationMonitorOptions;
  readonly #counted = new Set<string>();
  readonly #notified = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #stopping: AbortController | undefined;
  #sweeping = false;

  constructor(options: MigrationMonitorOptions) {
    this.#options = options;
  }

  /** Migrations in progress now, for the gauge. */
  inProgress(): number {
    return migrationsOf(this.#options.volumes(), () => undefined).length;
  }

  start(): void {
    if (this.#stopping) return;
    this.#stopping = new AbortController();
    this.#timer = setInterval(() => void this.sweep(), this.#options.intervalMs ?? 30_000);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#stopping?.abort();
    this.#stopping = undefined;
  }

  /** One look at every migration; never rejects (a failed event is logged and retried next time). */
  async sweep(now: number = Date.now()): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      const { logger } = this.#options;
      const migrations = migrationsOf(this.#options.volumes(), (volumeId, err) =>
        logger.error("invalid migration window on the PersistentVolume; using the default", { volume_id: volumeId, error: err.message }),
      );
      const current = new Set(migrations.map((migration) => migration.key));
      for (const seen of [this.#counted, this.#notified]) {
        for (const key of seen) if (!current.has(key)) seen.delete(key);
      }
      for (const migration of migrations) {
        if (now - migration.startedAt > migration.windowMs) await this.#report(migration, now);
      }
    } finally {
      this.#sweeping = false;
    }
  }

  async #report(migration: Migration, now: number): Promise<void> {
    const { logger } = this.#options;
    const seconds = Math.round((now - migration.startedAt) / 1000);
    const message =
      `live migration of volume ${migration.volumeId} between nodes ${migration.nodes.join(" and ")} has kept it on both for ${seconds} s, ` +
      `longer than its window of ${migration.windowMs / 1000} s; the driver detaches neither node: finish or cancel the migration`;
    if (!this.#counted.has(migration.key)) {
      this.#counted.add(migration.key);
      this.#options.onOverdue();
      logger.warn("live migration overdue", { volume_id: migration.volumeId, nodes: migration.nodes, seconds });
    }
    if (this.#notified.has(migration.key)) return;
    const claim = migration.persistentVolume?.spec?.claimRef;
    if (!claim?.namespace || !claim.name) {
      // Events live in a namespace; without a claim there is no object a user would look at.
      this.#notified.add(migration.key);
      return;
    }
    const { namespace, name, uid } = claim;
    try {
      await withDeadline(this.#stopping?.signal ?? new AbortController().signal, this.#options.eventTimeoutMs ?? 10_000, (signal) =>
        this.#options.events.record(
          {
            subject: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name, uid },
            type: "Warning",
            reason: "MigrationOverdue",
            message,
          },
          signal,
        ),
      );
      this.#notified.add(migration.key);
    } catch (err) {
      logger.warn("cannot post the MigrationOverdue event; retrying at the next sweep", {
        volume_id: migration.volumeId,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
