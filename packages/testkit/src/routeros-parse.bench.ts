import { parsePrintDetail } from "@rds-csi/core/routeros";
import type { BenchReport } from "./latency-stats.js";

const DISKS = 10_000;
const ROUNDS = 5;
const TARGET_MS = 200;
/** Wrapped records are read under every way RouterOS may have broken them; the driver does not read them. */
const WRAPPED_TARGET_MS = 1_000;

/**
 * The RouterOS output parser alone on a 10,000-disk listing, median of 5 after a warm-up: `print terse`,
 * what the driver reads (target < 200 ms), and `print detail` wrapped onto indented lines, which only
 * tests and operators read (target < 1 s: each wrapped record is read under every join its breaks allow,
 * docs/design/routeros-protocol.md "Output"). Apart from routeros.bench.ts so it runs in a second (`node
 * scripts/bench.js routeros-parse`) instead of after its 13 s of create/delete pairs; `routeros` still runs both.
 */
export async function run(): Promise<BenchReport> {
  const terse = Array.from({ length: DISKS }, (_, i) => terseRecord(i)).join("\r\n");
  const detail = ["Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT", ...Array.from({ length: DISKS }, (_, i) => diskRecord(i))].join("\n");
  const missedTargets: string[] = [];
  const measure = (format: string, text: string): number[] => {
    parsePrintDetail(text); // warm-up
    const samples: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      const records = parsePrintDetail(text);
      samples.push(performance.now() - started);
      if (records.length !== DISKS) missedTargets.push(`${format}: parsed ${records.length} records, expected ${DISKS}`);
    }
    return samples;
  };
  const terseRounds = measure("print terse", terse);
  const detailRounds = measure("print detail", detail);
  const lines = [
    `parse ${DISKS}-disk print terse (${(terse.length / 1e6).toFixed(1)} MB): rounds ${terseRounds.map((ms) => ms.toFixed(1)).join(", ")} ms`,
    `parse ${DISKS}-disk print detail, wrapped (${(detail.length / 1e6).toFixed(1)} MB): rounds ${detailRounds.map((ms) => ms.toFixed(1)).join(", ")} ms`,
  ];
  const figures = [
    { id: "routeros.parse_10000", label: `parse a ${DISKS.toLocaleString("en")}-disk listing (print terse)`, unit: "ms" as const, rounds: terseRounds, target: { bound: TARGET_MS, strict: true, description: `< ${TARGET_MS} ms` } },
    { id: "routeros.parse_10000_detail", label: `parse a ${DISKS.toLocaleString("en")}-disk wrapped print detail`, unit: "ms" as const, rounds: detailRounds, target: { bound: WRAPPED_TARGET_MS, strict: true, description: `< ${WRAPPED_TARGET_MS} ms` } },
  ];
  return { lines, figures, missedTargets };
}

/** One record as `print terse` prints it: one line, values unquoted, the comment as a leading pair. */
function terseRecord(i: number): string {
  const slot = `pvc-00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
  return (
    `${String(i).padStart(5)} Bt comment=rds-csi:v1 kind:volume type=file slot=${slot} slot-default= parent= fs=- model=/raid10/csi/${slot}.img ` +
    `size=10 737 418 240 mount-filesystem=no mount-read-only=no compress=no sector-size=512 raid-master=none nvme-tcp-export=yes ` +
    `nvme-tcp-server-port=4420 nvme-tcp-server-nqn=nqn.2000-02.com.mikrotik:${slot} nvme-tcp-server-allow-host-name= iscsi-export=no ` +
    `nfs-sharing=no smb-sharing=no media-sharing=no media-interface=none swap=no file-path=/raid10/csi/${slot}.img file-size=10.0GiB file-offset=0`
  );
}

/** One record in the layout a real RDS prints, wrapped onto indented continuation lines. */
function diskRecord(i: number): string {
  const slot = `pvc-00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
  const index = String(i).padStart(5);
  return [
    `${index} Bt ;;; rds-csi:v1 kind:volume`,
    `        type=file slot="${slot}" slot-default="" parent="" fs=- model="/raid10/csi/${slot}.img"`,
    `        size=10 737 418 240 mount-filesystem=no mount-read-only=no compress=no sector-size=512`,
    `        raid-master=none nvme-tcp-export=yes nvme-tcp-server-port=4420`,
    `        nvme-tcp-server-nqn="nqn.2000-02.com.mikrotik:${slot}" nvme-tcp-server-allow-host-name=""`,
    `        iscsi-export=no nfs-sharing=no smb-sharing=no media-sharing=no media-interface=none swap=no`,
    `        file-path=/raid10/csi/${slot}.img file-size=10.0GiB file-offset=0`,
    "",
  ].join("\n");
}
