import { Writable } from "node:stream";
import { createLogger } from "@rds-csi/core";
import { type EventRecord, type EventRecorder, type PersistentVolume } from "@rds-csi/core/k8s";
import { accessPolicyOfPersistentVolume } from "./access-policy.js";
import type { AttachmentRecord } from "./attachment-record.js";
import { MigrationMonitor, migrationsOf } from "./migration-monitor.js";
import { DEFAULT_MIGRATION_WINDOW_MS, MIGRATION_WINDOW_KEY, parseMigrationWindow } from "./migration-window.js";
import type { VolumeAttachments } from "./volume-attachment-view.js";

const silent = createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, cb) => cb() }) });

function pv(options: { modes?: string[]; block?: boolean; window?: string; claim?: boolean } = {}): PersistentVolume {
  return {
    metadata: { name: "pv" },
    spec: {
      accessModes: options.modes ?? ["ReadWriteMany"],
      volumeMode: options.block === false ? "Filesystem" : "Block",
      csi: { driver: "d", volumeHandle: "pvc-1", volumeAttributes: options.window === undefined ? {} : { [MIGRATION_WINDOW_KEY]: options.window } },
      claimRef: options.claim === false ? undefined : { namespace: "vms", name: "disk", uid: "u1" },
    },
  };
}

const attached = (node: string, createdAt: number): AttachmentRecord => ({ name: `va-${node}`, node, attached: true, deleting: false, failed: false, createdAt });

function volumeWith(persistentVolume: PersistentVolume | undefined, ...attachments: AttachmentRecord[]): VolumeAttachments {
  return { volumeId: "pvc-1", persistentVolume, attachments };
}

class ScriptedEvents implements EventRecorder {
  readonly posted: EventRecord[] = [];
  failures = 0;

  async record(event: EventRecord): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error("API server down");
    }
    this.posted.push(event);
  }
}

describe("parseMigrationWindow", () => {
  it("defaults to 300 s and reads whole seconds", () => {
    expect(parseMigrationWindow(undefined)).toBe(DEFAULT_MIGRATION_WINDOW_MS);
    expect(parseMigrationWindow({})).toBe(300_000);
    expect(parseMigrationWindow({ [MIGRATION_WINDOW_KEY]: "45" })).toBe(45_000);
  });

  it.each(["0", "1.5", "-3", "86401", "soon"])("refuses %s, naming the key", (raw) => {
    expect(() => parseMigrationWindow({ [MIGRATION_WINDOW_KEY]: raw })).toThrow(
      `migrationWindowSeconds must be a whole number of seconds from 1 to 86400, got "${raw}"`,
    );
  });
});

describe("accessPolicyOfPersistentVolume", () => {
  it("follows the external-attacher: RWX block is a migration, ROX alone readers, anything else one node", () => {
    expect(accessPolicyOfPersistentVolume(pv()).kind).toBe("migration");
    expect(accessPolicyOfPersistentVolume(pv({ block: false })).kind).toBe("single-node");
    expect(accessPolicyOfPersistentVolume(pv({ modes: ["ReadOnlyMany"] })).kind).toBe("readers");
    expect(accessPolicyOfPersistentVolume(pv({ modes: ["ReadWriteOnce", "ReadOnlyMany"] })).kind).toBe("single-node");
    expect(accessPolicyOfPersistentVolume(undefined).kind).toBe("single-node");
  });
});

describe("migrationsOf", () => {
  it("finds RWX block volumes on two nodes, started when the second attachment was made", () => {
    const invalid: string[] = [];
    const migrations = migrationsOf(
      [
        volumeWith(pv({ window: "60" }), attached("b", 5_000), attached("a", 1_000)),
        volumeWith(pv(), attached("a", 1_000)),
        volumeWith(pv({ modes: ["ReadOnlyMany"] }), attached("a", 1_000), attached("b", 1_000)),
        volumeWith(pv({ window: "never" }), attached("a", 1_000), attached("b", 2_000)),
      ],
      (volumeId, err) => invalid.push(`${volumeId}: ${err.message}`),
    );
    expect(migrations.map(({ nodes, startedAt, windowMs, key }) => ({ nodes, startedAt, windowMs, key }))).toEqual([
      { nodes: ["a", "b"], startedAt: 5_000, windowMs: 60_000, key: "pvc-1/va-a,va-b" },
      { nodes: ["a", "b"], startedAt: 2_000, windowMs: DEFAULT_MIGRATION_WINDOW_MS, key: "pvc-1/va-a,va-b" },
    ]);
    expect(invalid).toEqual(['pvc-1: migrationWindowSeconds must be a whole number of seconds from 1 to 86400, got "never"']);
  });
});

describe("MigrationMonitor", () => {
  it("counts an overdue migration once, retries its event until posted, and forgets it when it ends", async () => {
    let volumes = [volumeWith(pv({ window: "10" }), attached("a", 0), attached("b", 1_000))];
    const events = new ScriptedEvents();
    events.failures = 1;
    let overdue = 0;
    const monitor = new MigrationMonitor({ volumes: () => volumes, events, onOverdue: () => overdue++, logger: silent });
    expect(monitor.inProgress()).toBe(1);

    await monitor.sweep(5_000); // within the window
    expect(overdue).toBe(0);
    await monitor.sweep(20_000); // overdue; the event fails
    expect(overdue).toBe(1);
    expect(events.posted).toHaveLength(0);
    await monitor.sweep(21_000); // retried, not counted again
    expect(overdue).toBe(1);
    expect(events.posted).toEqual([
      {
        subject: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: "vms", name: "disk", uid: "u1" },
        type: "Warning",
        reason: "MigrationOverdue",
        message:
          "live migration of volume pvc-1 between nodes a and b has kept it on both for 20 s, longer than its window of 10 s; the driver detaches neither node: finish or cancel the migration",
      },
    ]);
    await monitor.sweep(22_000);
    expect(events.posted).toHaveLength(1);

    // The migration ended; a later one of the same volume is a new migration.
    volumes = [volumeWith(pv({ window: "10" }), attached("a", 0))];
    await monitor.sweep(30_000);
    expect(monitor.inProgress()).toBe(0);
    volumes = [volumeWith(pv({ window: "10" }), attached("a", 0), { ...attached("c", 40_000), name: "va-c" })];
    await monitor.sweep(60_000);
    expect(overdue).toBe(2);
    expect(events.posted).toHaveLength(2);
  });

  it("counts a migration of a PV without a claim but posts no event, and sweeps on its timer until stopped", async () => {
    const events = new ScriptedEvents();
    let overdue = 0;
    const monitor = new MigrationMonitor({
      volumes: () => [volumeWith(pv({ claim: false, window: "1" }), attached("a", 0), attached("b", 0))],
      events,
      onOverdue: () => overdue++,
      logger: silent,
      intervalMs: 10,
    });
    monitor.start();
    monitor.start(); // a second start is a no-op
    await new Promise((resolve) => setTimeout(resolve, 60));
    monitor.stop();
    expect(overdue).toBe(1);
    expect(events.posted).toEqual([]);
  });
});
