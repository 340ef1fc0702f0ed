import { Writable } from "node:stream";
import { createLogger, GiB, MetricsRegistry, UnavailableError } from "@rds-csi/core";
import { type RdsClient, type RdsVolume } from "@rds-csi/core/routeros";
import { RdsVolumeGauges, type RdsVolumeGaugesOptions } from "./volume-gauges.js";

/** Volumes and free space a test sets; counts listings and pool reads; a listing can be held open, and reads made to fail. */
class StubRds {
  volumes: string[] = [];
  freeBytes = 60n * GiB;
  down = false;
  listings = 0;
  poolReads = 0;
  gate: Promise<void> | undefined;

  readonly client = {
    listVolumes: async () => {
      this.listings++;
      const listed = this.volumes.map((id) => ({ id }) as RdsVolume);
      await this.gate;
      if (this.down) throw new UnavailableError("RDS 192.0.2.1 unreachable: ECONNREFUSED");
      return listed;
    },
    capacity: async () => (this.poolReads++, { totalBytes: 100n * GiB, freeBytes: this.freeBytes }),
  } as Partial<RdsClient> as RdsClient;
}

let lines: string[];
let rds: StubRds;
let metrics: MetricsRegistry;

beforeEach(() => {
  lines = [];
  rds = new StubRds();
  metrics = new MetricsRegistry();
});

function gaugesWith(options: Partial<RdsVolumeGaugesOptions> = {}): RdsVolumeGauges {
  const logger = createLogger({ level: "warn", component: "test", stream: new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) }) });
  return new RdsVolumeGauges({ rds: rds.client, metrics, logger, minSpacingMs: 0, ...options });
}

async function values(): Promise<Record<string, number>> {
  const text = await metrics.metrics();
  return Object.fromEntries(text.split("\n").filter((line) => line.startsWith("rds_csi_controller_")).map((line) => [line.split(" ")[0], Number(line.split(" ")[1])]));
}

const volumeCount = async (): Promise<number | undefined> => (await values())["rds_csi_controller_volumes_on_rds"];

describe("RdsVolumeGauges", () => {
  it("sets the volume count and the pool's size and free space; a failed read keeps them and is logged", async () => {
    const gauges = gaugesWith();
    rds.volumes = ["pvc-a", "pvc-b"];
    await gauges.refresh();
    const read = {
      rds_csi_controller_volumes_on_rds: 2,
      'rds_csi_controller_capacity_bytes{kind="total"}': 107374182400,
      'rds_csi_controller_capacity_bytes{kind="free"}': 64424509440,
    };
    expect(await values()).toEqual(read);

    rds.down = true;
    rds.volumes = ["pvc-a", "pvc-b", "pvc-c"];
    await gauges.refresh();
    expect(await values()).toEqual(read);
    expect(lines.some((line) => line.includes("keeping the last values") && line.includes("ECONNREFUSED"))).toBe(true);
  });

  it("follows the controller's own creates and deletes without listing the volumes again, and reads the pool after them", async () => {
    const gauges = gaugesWith();
    rds.volumes = ["pvc-a"];
    await gauges.refresh();
    rds.freeBytes = 50n * GiB;
    gauges.changed("pvc-b", true);
    gauges.changed("pvc-c", true);
    expect(await volumeCount()).toBe(3);
    gauges.changed("pvc-a", false);
    gauges.changed("pvc-b", true); // grown: counted once
    gauges.changed("pvc-x", false); // deleted again: already gone
    expect(await volumeCount()).toBe(2);
    await gauges.refresh();
    expect(rds.listings).toBe(2);
    expect(rds.poolReads).toBeGreaterThanOrEqual(2);
    expect((await values())['rds_csi_controller_capacity_bytes{kind="free"}']).toBe(Number(50n * GiB));
  });

  it("applies a change told while a listing runs on top of what the listing shows", async () => {
    const gauges = gaugesWith();
    rds.volumes = ["pvc-a", "pvc-b"];
    await gauges.refresh();
    let open: () => void = () => undefined;
    rds.gate = new Promise((resolve) => (open = resolve));
    const listing = gauges.refresh(); // lists pvc-a and pvc-b before the changes below
    await new Promise((resolve) => setImmediate(resolve));
    gauges.changed("pvc-c", true);
    gauges.changed("pvc-a", false);
    open();
    await listing;
    expect(rds.listings).toBe(2);
    expect(await volumeCount()).toBe(2); // pvc-b and pvc-c
  });

  it("never overlaps reads, spaces them, and makes the read asked for during a burst once, after the last change", async () => {
    const gauges = gaugesWith({ minSpacingMs: 150 });
    await gauges.refresh();
    const before = rds.poolReads;
    // About 300 ms of changes, one every 10 ms: reading after each would be about 30 reads.
    for (let i = 1; i <= 30; i++) {
      rds.freeBytes = BigInt(100 - i) * GiB;
      gauges.changed(`pvc-${i}`, true);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 400));
    await gauges.stop();
    expect(rds.poolReads - before).toBeLessThanOrEqual(4);
    expect(rds.listings).toBe(1);
    expect((await values())['rds_csi_controller_capacity_bytes{kind="free"}']).toBe(Number(70n * GiB));
  });

  it("reads at start and then on its interval until stopped", async () => {
    const timed = gaugesWith({ intervalMs: 20 });
    timed.start();
    for (const deadline = Date.now() + 5_000; rds.listings < 3 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 5));
    await timed.stop();
    const listings = rds.listings;
    expect(listings).toBeGreaterThanOrEqual(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(rds.listings).toBe(listings);
  });
});
