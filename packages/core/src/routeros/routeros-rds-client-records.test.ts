import { PassThrough } from "node:stream";
import { InternalError } from "../errors.js";
import { createLogger } from "../observability/logger.js";
import { MetricsRegistry } from "../observability/metrics.js";
import { VolumeLayout } from "../volume/volume-layout.js";
import { RouterOsRdsClient } from "./routeros-rds-client.js";
import type { SshCommandResult, SshRunOptions, SshTransport } from "./ssh-transport.js";

/**
 * What a real RDS lists beside the driver's own disks (issues 9.6 and 10.2): the operator's file disks,
 * disabled items, disks with missing or odd fields, and a record the parser cannot read. Canned output
 * stands in for the RDS here so that each kind of record can be placed exactly.
 */
const VOL = "pvc-00000000-0000-4000-8000-000000000001";
const SNAP = "snap-00000000-0000-4000-8000-000000000002";
const layout = new VolumeLayout({ basePath: "/raid10/csi", nqnPrefix: "nqn.2000-02.com.mikrotik" });

const FILE_DISKS = [
  ` 1 Bt comment=rds-csi:v1 kind:volume type=file slot=${VOL} size=1 073 741 824 nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn=nqn.2000-02.com.mikrotik:${VOL} nvme-tcp-server-allow-host-name= file-path=/raid10/csi/${VOL}.img file-size=1024.0MiB`,
  ` 2 B  comment=rds-csi:v1 kind:snapshot source:${VOL} size:1073741824 created:2026-11-26T10:00:00.000Z strategy:disk-copy-from type=file slot=${SNAP} size=1 073 741 824 nvme-tcp-export=no file-path=/raid10/csi/${SNAP}.img file-size=1024.0MiB`,
  // The operator's own disk, a disabled one, one without a size, one with an odd port, one unreadable.
  " 3 Bt type=file slot=vm-1 size=10 737 418 240 nvme-tcp-export=yes nvme-tcp-server-port=4420 file-path=/raid10/vm-1.img",
  " 4 X  type=file slot=pvc-disabled size=1 048 576 nvme-tcp-export=no file-path=/raid10/csi/pvc-disabled.img",
  " 5 B  type=file slot=pvc-nosize nvme-tcp-export=no file-path=/raid10/csi/pvc-nosize.img",
  " 6 Bt type=file slot=pvc-oddport size=1 048 576 nvme-tcp-export=yes nvme-tcp-server-port=auto file-path=/raid10/csi/pvc-oddport.img",
  ' 7 B  type=file slot="pvc-broken file-path=/raid10/csi/pvc-broken.img',
  "",
].join("\r\n");

const POOL = [
  " 0 BM type=raid slot=raid10 size=16 003 143 565 312 free=14 789 895 307 264 mount-point=raid10",
  " 9 B  type=partition slot=raid10-part mount-point=raid10 size=odd",
  "",
].join("\r\n");

const FILES = [
  " 0 name=raid10/csi type=directory last-modified=2026-11-26 10:00:00",
  ...["pvc-disabled", "pvc-nosize", "pvc-oddport", "pvc-broken", VOL, SNAP, "pvc-orphan"].map(
    (name, i) => ` ${i + 1} name=raid10/csi/${name}.img type=.img file size=1024.0MiB last-modified=2026-11-26 10:00:00`,
  ),
  " 9 name=raid10/csi/odd.img type=.img file size=lots",
  "",
].join("\r\n");

class CannedTransport implements SshTransport {
  readonly state = "connected" as const;
  readonly commands: string[] = [];

  constructor(private readonly answers: ReadonlyArray<readonly [RegExp, string]>) {}

  async run(command: string, _options: SshRunOptions): Promise<SshCommandResult> {
    this.commands.push(command);
    const answer = this.answers.find(([pattern]) => pattern.test(command));
    return { stdout: answer?.[1] ?? "", stderr: "", exitCode: 0 };
  }

  onStateChange(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {}
}

function client(): { client: RouterOsRdsClient; metrics: MetricsRegistry; log: string[] } {
  const log: string[] = [];
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => log.push(chunk.toString()));
  const metrics = new MetricsRegistry();
  const transport = new CannedTransport([
    [/^\/disk print terse where type="file"$/, FILE_DISKS],
    [/^\/disk print terse where mount-point=/, POOL],
    [/^\/file print terse where name~/, FILES],
    [/^\/disk print terse where slot="pvc-broken"$/, FILE_DISKS.split("\r\n")[6]!],
  ]);
  return {
    client: new RouterOsRdsClient({
      transport,
      layout,
      copyStrategy: { name: "disk-copy-from", trust: "verified" },
      logger: createLogger({ level: "warn", component: "test", stream }),
      metrics,
    }),
    metrics,
    log,
  };
}

const signal = (): AbortSignal => AbortSignal.timeout(5_000);

describe("RouterOsRdsClient among other people's disks", () => {
  it("lists its own volumes and snapshots, skipping and counting every other record", async () => {
    const { client: rds, metrics, log } = client();
    expect((await rds.listVolumes(signal())).map((volume) => volume.id)).toEqual([VOL, "pvc-disabled"]);
    expect((await rds.listSnapshots(signal())).map((snapshot) => [snapshot.id, snapshot.sourceVolumeId])).toEqual([[SNAP, VOL]]);
    const text = await metrics.metrics();
    // Per listing: vm-1 is foreign; pvc-nosize, pvc-oddport and pvc-broken cannot be read.
    expect(text).toContain('rds_csi_routeros_records_skipped_total{reason="foreign"} 2');
    expect(text).toContain('rds_csi_routeros_records_skipped_total{reason="unreadable"} 6');
    expect(log.join("")).toContain('field \\"size\\" is missing');
  });

  it("reads capacity from the pool's record, whatever else is mounted there", async () => {
    const { client: rds } = client();
    expect(await rds.capacity(signal())).toEqual({ totalBytes: 16003143565312n, freeBytes: 14789895307264n });
  });

  it("fails only an operation on the record it cannot read", async () => {
    const { client: rds } = client();
    await expect(rds.getVolume("pvc-broken", signal())).rejects.toThrow(InternalError);
    await expect(rds.getVolume("pvc-broken", signal())).rejects.toThrow(/quoted value of "slot" never ends/);
  });

  it("reports as orphans only files no disk record names, readable or not", async () => {
    const { client: rds } = client();
    expect(await rds.listOrphanFiles(signal())).toEqual([
      { path: "/raid10/csi/pvc-orphan.img", id: "pvc-orphan", approximateSizeBytes: 1024n ** 3n },
    ]);
  });
});
