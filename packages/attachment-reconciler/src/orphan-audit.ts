import type { Logger } from "@rds-csi/core";
import type { EventRecorder, PersistentVolume, VolumeAttachment } from "@rds-csi/core/k8s";
import type { RdsClient } from "@rds-csi/core/routeros";
import { EVENT_NAMESPACE } from "./cluster-objects.js";
import type { OrphanKind, ReconcilerMetrics } from "./reconciler-metrics.js";
import { NotLeaderError, type WriteGuard } from "./write-guard.js";

export interface OrphanAuditOptions {
  readonly rds: RdsClient;
  /** this driver's PVs and VolumeAttachments, from the informers' caches */
  readonly persistentVolumes: () => readonly PersistentVolume[];
  readonly attachments: () => readonly VolumeAttachment[];
  /** What happens to a disk without a PV seen for `minAgeMs`: reported only, its deletion logged, or deleted. */
  readonly diskDeletion: "off" | "dry-run" | "enabled";
  readonly minAgeMs: number;
  readonly guard: WriteGuard;
  readonly events: EventRecorder;
  readonly metrics: ReconcilerMetrics;
  readonly logger: Logger;
  readonly now: () => number;
}

export interface Orphan {
  readonly kind: OrphanKind;
  /** a volume id (disk, PV's handle) or a VolumeAttachment name */
  readonly name: string;
  /** ms this audit has seen it orphaned, by its own clock */
  readonly ageMs: number;
}

/**
 * Finds what one side holds and the other does not: disks of this driver on the RDS without a PV,
 * PVs of this driver without a disk, VolumeAttachments whose PV is gone, backing files under the base
 * path that no disk uses. Every kind goes to the
 * metrics and a log table; a new orphan gets an Event (on the PV or VolumeAttachment; a disk has no
 * Kubernetes object, so only the log names it). Disks without a PV are deleted only when that is
 * enabled and the orphan has been seen for `minAgeMs` by this process's clock (a disk whose PV is
 * still being created is young), and through the write guard (leader, dry-run); `dry-run` (the
 * default setting) only logs which disks would go.
 */
export class OrphanAudit {
  readonly #options: OrphanAuditOptions;
  /** `kind/name` → when (our clock) it was first seen orphaned */
  readonly #firstSeen = new Map<string, number>();

  constructor(options: OrphanAuditOptions) {
    this.#options = options;
  }

  async run(signal: AbortSignal): Promise<Orphan[]> {
    const { rds, metrics, logger, now } = this.#options;
    // Files first: a volume created between the two listings then shows as a disk, never as an orphan file.
    const files = await rds.listOrphanFiles(signal);
    const disks = await rds.listVolumes(signal);
    const volumes = this.#options.persistentVolumes();
    const handles = new Set(volumes.map((pv) => pv.spec?.csi?.volumeHandle).filter((handle): handle is string => handle !== undefined));
    const diskIds = new Set(disks.map((disk) => disk.id));
    const pvNames = new Set(volumes.map((pv) => pv.metadata?.name));
    const found: { kind: OrphanKind; name: string; subject?: { kind: string; apiVersion: string; name: string; uid?: string } }[] = [
      ...disks.filter((disk) => !handles.has(disk.id)).map((disk) => ({ kind: "disk_without_pv" as const, name: disk.id })),
      ...volumes
        .filter((pv) => pv.spec?.csi?.volumeHandle !== undefined && !diskIds.has(pv.spec.csi.volumeHandle))
        .map((pv) => ({
          kind: "pv_without_disk" as const,
          name: pv.spec?.csi?.volumeHandle ?? "",
          subject: { kind: "PersistentVolume", apiVersion: "v1", name: pv.metadata?.name ?? "", uid: pv.metadata?.uid },
        })),
      ...this.#options
        .attachments()
        .filter((va) => va.spec.source.persistentVolumeName !== undefined && !pvNames.has(va.spec.source.persistentVolumeName))
        .map((va) => ({
          kind: "va_without_pv" as const,
          name: va.metadata?.name ?? "",
          subject: { kind: "VolumeAttachment", apiVersion: "storage.k8s.io/v1", name: va.metadata?.name ?? "", uid: va.metadata?.uid },
        })),
      // A backing file no disk uses: what a delete cut short between `/disk remove` and `/file remove`
      // leaves (a retried DeleteVolume removes it; nothing else would). Reported, never deleted here.
      ...files.map((file) => ({ kind: "file_without_disk" as const, name: file.path })),
    ];
    const current = new Set(found.map((orphan) => `${orphan.kind}/${orphan.name}`));
    for (const key of this.#firstSeen.keys()) if (!current.has(key)) this.#firstSeen.delete(key);
    const orphans: Orphan[] = [];
    for (const orphan of found) {
      const key = `${orphan.kind}/${orphan.name}`;
      const isNew = !this.#firstSeen.has(key);
      if (isNew) this.#firstSeen.set(key, now());
      orphans.push({ kind: orphan.kind, name: orphan.name, ageMs: now() - (this.#firstSeen.get(key) ?? now()) });
      if (isNew && orphan.subject) await this.#event(orphan.subject, orphan.kind, orphan.name, signal);
    }
    const counts = { disk_without_pv: 0, pv_without_disk: 0, va_without_pv: 0, file_without_disk: 0 };
    for (const orphan of orphans) counts[orphan.kind]++;
    metrics.orphans(counts);
    if (orphans.length > 0) {
      logger.warn("orphan audit", { orphans: orphans.map((orphan) => ({ kind: orphan.kind, name: orphan.name, seen_for_s: Math.round(orphan.ageMs / 1000) })) });
    } else {
      logger.info("orphan audit: nothing orphaned");
    }
    if (this.#options.diskDeletion !== "off") await this.#deleteAged(orphans, signal);
    return orphans;
  }

  async #deleteAged(orphans: readonly Orphan[], signal: AbortSignal): Promise<void> {
    const { rds, guard, logger, minAgeMs } = this.#options;
    for (const orphan of orphans) {
      if (orphan.kind !== "disk_without_pv" || orphan.ageMs < minAgeMs) continue;
      if (this.#options.diskDeletion === "dry-run") {
        logger.info(`dry run: would delete orphaned disk ${orphan.name}`, { volume_id: orphan.name, seen_for_s: Math.round(orphan.ageMs / 1000) });
        continue;
      }
      try {
        const deleted = await guard.write(`delete orphaned disk ${orphan.name} (no PV for ${Math.round(orphan.ageMs / 1000)} s)`, { volume_id: orphan.name }, () =>
          rds.deleteVolume(orphan.name, signal),
        );
        if (deleted) {
          logger.warn("orphaned disk deleted", { volume_id: orphan.name, seen_for_s: Math.round(orphan.ageMs / 1000) });
          this.#firstSeen.delete(`${orphan.kind}/${orphan.name}`);
        }
      } catch (err) {
        if (err instanceof NotLeaderError || signal.aborted) throw err;
        logger.warn("cannot delete an orphaned disk; the next audit tries again", { volume_id: orphan.name, error: (err as Error).message });
      }
    }
  }

  async #event(subject: { kind: string; apiVersion: string; name: string; uid?: string }, kind: OrphanKind, name: string, signal: AbortSignal): Promise<void> {
    const message = kind === "pv_without_disk" ? `its disk ${name} does not exist on the RDS` : "its PersistentVolume no longer exists";
    try {
      await this.#options.guard.write(`post event Orphaned on ${subject.kind} ${subject.name}`, {}, () =>
        this.#options.events.record({ subject: { ...subject, namespace: EVENT_NAMESPACE }, type: "Warning", reason: "Orphaned", message }, signal),
      );
    } catch (err) {
      if (err instanceof NotLeaderError) throw err;
      this.#options.logger.warn("cannot post an event", { reason: "Orphaned", error: (err as Error).message });
    }
  }
}
