import { Writable } from "node:stream";
import { createLogger, GiB, MetricsRegistry, UnavailableError } from "@rds-csi/core";
import { type RdsClient, type RdsVolume } from "@rds-csi/core/routeros";
import { RdsVolumeGauges } from "./volume-gauges.js";

/** Volume count and free space a test sets; each read can be held open or made to fail. */
class StubRds {
  volumes = 0;
  freeBytes = 60n * GiB;
  down = false;
  reads = 0;
  gate: Promise<void> | undefined;

  readonly client = {
    listVolumes: async () => {
      this.reads++;
      await this.gate;
      if (this.down) throw new UnavailableError("RDS 192.0.2.1 unreachable: ECONNREFUSED");
      return Array.from({ length: this.volumes }, () => ({}) as RdsVolume);
    },
    capacity: async () => ({ totalBytes: 100n * GiB, freeBytes: this.freeBytes }),
  } as Partial<RdsClient> as RdsClient;
}

let lines: string[];
let rds: StubRds;
let metrics: MetricsRegistry;
let gauges: RdsVolumeGauges;

beforeEach(() => {
  lines = [];
  rds = new StubRds();
  metrics = new MetricsRegistry();
  const logger = createLogger({ level: "warn", component: "test", stream: new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }) });
  gauges = new RdsVolumeGauges({ rds: rds.client, metrics, logger });
});

async function values(): Promise<Record<string, number>> {
  const text = await metrics.metrics();
  return Object.fromEntries(text.split("\n").filter((line) => line.startsWith("rds_csi_controller_")).map((line) => [line.split(" ")[0], Number(line.split(" ")[1])]));
}

describe("RdsVolumeGauges", () => {
  it("sets the volume count and the pool's size and free space; a failed read keeps them and is logged", async () => {
    rds.volumes = 2;
    await gauges.refresh();
    const read = {
      rds_csi_controller_volumes_on_rds: 2,
      'rds_csi_controller_capacity_bytes{kind="total"}': 107374182400,
      'rds_csi_controller_capacity_bytes{kind="free"}': 64424509440,
    };
    expect(await values()).toEqual(read);

    rds.down = true;
    rds.volumes = 5;
    await gauges.refresh();
    expect(await values()).toEqual(read);
    expect(lines.some((line) => line.includes("keeping the last values") && line.includes("ECONNREFUSED"))).toBe(true);
  });

  it("never overlaps reads: changes during a read ask for exactly one more, whose values win", async () => {
    let open: () => void = () => undefined;
    rds.gate = new Promise((resolve) => (open = resolve));
    const first = gauges.refresh();
    rds.volumes = 3;
    gauges.changed();
    gauges.changed();
    expect(rds.reads).toBe(1);
    rds.gate = undefined;
    open();
    await first;
    expect(rds.reads).toBe(2);
    expect((await values())["rds_csi_controller_volumes_on_rds"]).toBe(3);
  });

  it("spaces the reads that changes during a read ask for, and still reads after the last change", async () => {
    // Each listing takes 20 ms, as a listing of many disks does: changes keep arriving while one runs.
    const list = rds.client.listVolumes.bind(rds.client);
    rds.client.listVolumes = async (signal) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return list(signal);
    };
    metrics = new MetricsRegistry();
    const spaced = new RdsVolumeGauges({ rds: rds.client, metrics, logger: createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, cb) => cb() }) }), minSpacingMs: 150 });
    for (let i = 1; i <= 30; i++) {
      rds.volumes = i;
      spaced.changed();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await spaced.refresh();
    await spaced.stop();
    // About 300 ms of changes: reading again as soon as a read ends would be about 15 reads.
    expect(rds.reads).toBeLessThanOrEqual(5);
    expect((await values())["rds_csi_controller_volumes_on_rds"]).toBe(30);
  });

  it("reads at start and then on its interval until stopped", async () => {
    const timed = new RdsVolumeGauges({ rds: rds.client, metrics: new MetricsRegistry(), logger: createLogger({ level: "error", component: "test", stream: new Writable({ write: (_c, _e, cb) => cb() }) }), intervalMs: 20 });
    timed.start();
    await new Promise((resolve) => setTimeout(resolve, 70));
    await timed.stop();
    const reads = rds.reads;
    expect(reads).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(rds.reads).toBe(reads);
  });
});
