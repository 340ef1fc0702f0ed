import { InternalError } from "../errors.js";
import { toDisk, toFile, toPool } from "./disk-record.js";
import { readFixture } from "../../test/routeros/fixtures/fixture-files.js";
import { parsePrintDetail, type RouterOsRecord } from "./parse-print-detail.js";

function records(fixture: string): RouterOsRecord[] {
  return parsePrintDetail(readFixture(`print-detail/${fixture}`));
}

function record(line: string): RouterOsRecord {
  return parsePrintDetail(`${line}\n`)[0]!;
}

function expectInternal(read: () => unknown, message: string): void {
  expect(read).toThrow(InternalError);
  expect(read).toThrow(message);
}

describe("toDisk", () => {
  it("reads the real RDS2216 volume, exact size from size= only", () => {
    expect(toDisk(records("disk-volume-wide.txt")[0]!)).toEqual({
      slot: "vm-storage-001",
      type: "file",
      filePath: "/raid10/vm-storage-001.img",
      sizeBytes: 1099511627776n,
      nvmeExport: true,
      nvmePort: 4420,
      nqn: "nqn.2026-09.com.mikrotik:rds2216.vm-storage-001",
      allowedHosts: [],
      flags: "Bt",
    });
  });

  it("reads every disk of a mixed listing", () => {
    const disks = records("disks-several.txt").map(toDisk);
    expect(disks.map((disk) => [disk.slot, disk.type, disk.sizeBytes, disk.nvmeExport, disk.flags])).toEqual([
      ["raid10", "raid", 16003143565312n, false, "BM"],
      ["pvc-0a1b2c3d-0000-4000-8000-000000000001", "file", 5368709120n, true, "Bt"],
      ["backup-7", "file", 1073741824n, false, "X"],
      ["snap-9f8e7d6c-0000-4000-8000-000000000002", "file", 5368709120n, false, "B"],
      ["pvc-0a1b2c3d-0000-4000-8000-000000000003", "file", 2147483648n, true, "t"],
    ]);
    expect(disks[0]!.filePath).toBeUndefined();
    expect(disks[1]!.comment).toBe("rds-csi:v1 kind=volume");
    expect(disks[1]!.allowedHosts).toEqual(["nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"]);
    // A snapshot disk without any nvme-tcp-* field: not exported, no port, no NQN.
    expect(disks[3]).toEqual({
      slot: "snap-9f8e7d6c-0000-4000-8000-000000000002",
      type: "file",
      filePath: "/raid10/snaps/snap-9f8e7d6c-0000-4000-8000-000000000002.img",
      sizeBytes: 5368709120n,
      nvmeExport: false,
      allowedHosts: [],
      comment:
        "rds-csi:v1 kind=snapshot source=pvc-0a1b2c3d-0000-4000-8000-000000000001 size=5368709120 created=2026-11-26T10:00:00.123Z strategy=disk-copy-from",
      flags: "B",
    });
    expect(disks[4]!.nvmePort).toBe(4421);
    expect(disks[4]!.allowedHosts).toEqual([
      "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-0000-0000-000000000001",
      "nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-0000-0000-0000-000000000002",
    ]);
  });

  it.each([
    ["slot", ' 0 type=file size=1', 'RouterOS record 0 field "slot" is missing'],
    ["type", ' 0 slot="a" size=1', 'RouterOS record 0 field "type" is missing'],
    ["size", ' 0 slot="a" type=file file-size=10.0GiB', 'RouterOS record 0 field "size" is missing'],
  ])("refuses a record without %s", (_, line, message) => {
    expectInternal(() => toDisk(record(line)), message);
  });

  it.each([
    ["a rounded size", ' 7 slot="a" type=file size=10.0GiB', 'RouterOS record 7 field "size" is not an exact byte count: "10.0GiB"'],
    ["an export flag that is not yes/no", ' 7 slot="a" type=file size=1 nvme-tcp-export=true', 'RouterOS record 7 field "nvme-tcp-export" is unreadable: "true"'],
    ["a port that is not a number", ' 7 slot="a" type=file size=1 nvme-tcp-server-port=auto', 'RouterOS record 7 field "nvme-tcp-server-port" is unreadable: "auto"'],
    ["port 0", ' 7 slot="a" type=file size=1 nvme-tcp-server-port=0', 'RouterOS record 7 field "nvme-tcp-server-port" is unreadable: "0"'],
    ["a port past 65535", ' 7 slot="a" type=file size=1 nvme-tcp-server-port=65536', 'RouterOS record 7 field "nvme-tcp-server-port" is unreadable: "65536"'],
  ])("refuses %s", (_, line, message) => {
    expectInternal(() => toDisk(record(line)), message);
  });
});

describe("toPool", () => {
  it.each([
    ["pool-raid.txt", { slot: "raid10", mountPoint: "raid10", sizeBytes: 16003143565312n, freeBytes: 14789895307264n }],
    ["pool-partition.txt", { slot: "storage-pool", mountPoint: "storage-pool", sizeBytes: 7949127950336n, freeBytes: 5963595964416n }],
  ])("reads %s", (fixture, pool) => {
    expect(toPool(records(fixture)[0]!)).toEqual(pool);
  });

  it.each([
    ["mount-point", ' 0 slot="raid10" size=1 free=1', 'RouterOS record 0 field "mount-point" is missing'],
    ["free", ' 0 slot="raid10" mount-point="raid10" size=1', 'RouterOS record 0 field "free" is missing'],
    ["an exact free", ' 0 slot="raid10" mount-point="raid10" size=1 free=13.4TiB', 'RouterOS record 0 field "free" is not an exact byte count: "13.4TiB"'],
  ])("refuses a pool without %s", (_, line, message) => {
    expectInternal(() => toPool(record(line)), message);
  });
});

describe("toFile", () => {
  it("reads files and directories, adding the leading slash", () => {
    expect(records("files-under.txt").map(toFile)).toEqual([
      { path: "/raid10/vols/pvc-5b0c1d2e-7f3a-4c5b-9d6e-0123456789ab.img", type: ".img file", approximateSizeBytes: 10737418240n },
      { path: "/raid10/vols/pvc-0a1b2c3d-0000-4000-8000-000000000001.img", type: ".img file", approximateSizeBytes: 5368709120n },
      { path: "/raid10/vols/archive", type: "directory" },
      { path: "/raid10/vols/archive/pvc-old.img", type: ".img file", approximateSizeBytes: 1099511627776n },
    ]);
    expect(toFile(records("file-single.txt")[0]!).approximateSizeBytes).toBe(10737418240n);
  });

  it("reads the rounded sizes RouterOS 7 prints (MikroTik manual, \"Files\"), unquoted names and types", () => {
    const files = parsePrintDetail(
      [
        " 0 name=raid10/csi/pvc-1.img type=.img file size=10.0GiB last-modified=2026-11-26 10:00:00",
        " 1 name=flash/skins/newskin.json type=.json file size=0 last-modified=2024-11-25 13:10:52",
        " 2 name=wireless-7.16.1-arm.npk type=package size=1924.1KiB last-modified=2024-11-25 13:14:28",
      ].join("\r\n"),
    ).map(toFile);
    expect(files).toEqual([
      { path: "/raid10/csi/pvc-1.img", type: ".img file", approximateSizeBytes: 10n * 1024n ** 3n },
      { path: "/flash/skins/newskin.json", type: ".json file", approximateSizeBytes: 0n },
      { path: "/wireless-7.16.1-arm.npk", type: "package", approximateSizeBytes: 1970278n },
    ]);
  });

  it.each([
    ["no name", ' 0 type="directory"', 'RouterOS record 0 field "name" is missing'],
    ["no type", ' 0 name="raid10/x"', 'RouterOS record 0 field "type" is missing'],
    ["an unreadable size", ' 0 name="raid10/x.img" type=".img file" size=10.0GB', 'RouterOS record 0 field "size" is not a size: "10.0GB"'],
  ])("refuses a file with %s", (_, line, message) => {
    expectInternal(() => toFile(record(line)), message);
  });
});
