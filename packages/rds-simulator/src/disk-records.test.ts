import { DISK_PROPERTIES, diskRecord, POOL_ONLY_PROPERTIES, poolRecord } from "./disk-records.js";
import type { DiskItem } from "./disk-table.js";
import { fileRecord, FILE_PROPERTIES } from "./file-records.js";
import { FileTable } from "./file-table.js";
import { Pool } from "./pool.js";

const disk: DiskItem = {
  id: 1,
  slot: "pvc-1",
  filePath: "/raid10/vols/pvc-1.img",
  comment: "",
  nvmeTcpExport: true,
  nvmeTcpServerPort: 4420,
  nvmeTcpServerNqn: "nqn.2000-02.com.mikrotik:pvc-1",
  nvmeTcpServerAllowHostName: "",
};

function pool(diskFull = false): Pool {
  const files = new FileTable([{ name: "raid10/x.img", type: "file", size: 1024 ** 3, lastModified: "2026-01-01T00:00:00.000Z" }]);
  return new Pool({ identity: { name: "raid10", size: 4 * 1024 ** 3, fsUuid: "f", raidUuid: "r" }, files, isDiskFull: () => diskFull });
}

const names = (fields: readonly { name: string }[]): string[] => fields.map((field) => field.name);

describe("disk records", () => {
  it("prints a file disk with the real RDS fields in order, and no status", () => {
    const record = diskRecord(disk, 10737418240);
    expect(record.flags).toBe("Bt");
    expect(names(record.fields)).toEqual([
      "type", "slot", "slot-default", "parent", "fs", "model", "size", "mount-filesystem", "mount-read-only", "compress",
      "sector-size", "raid-master", "nvme-tcp-export", "nvme-tcp-server-port", "nvme-tcp-server-nqn",
      "nvme-tcp-server-allow-host-name", "iscsi-export", "nfs-sharing", "smb-sharing", "media-sharing", "media-interface",
      "swap", "file-path", "file-size", "file-offset",
    ]);
    const text = Object.fromEntries(record.fields.map((field) => [field.name, field.text]));
    expect(text).toMatchObject({
      slot: '"pvc-1"',
      model: '"/raid10/vols/pvc-1.img"',
      size: "10 737 418 240",
      "file-path": "/raid10/vols/pvc-1.img",
      "file-size": "10.0GiB",
      "nvme-tcp-server-nqn": '"nqn.2000-02.com.mikrotik:pvc-1"',
    });
    expect(record.fields.find((field) => field.name === "size")?.value).toBe("10737418240");
  });

  it("shows a disk that is not exported without the server fields and without the t flag", () => {
    const record = diskRecord({ ...disk, nvmeTcpExport: false, filePath: "/raid10/a b.img" }, 1);
    expect(record.flags).toBe("B");
    expect(names(record.fields).filter((name) => name.startsWith("nvme"))).toEqual(["nvme-tcp-export"]);
    expect(record.fields.find((field) => field.name === "file-path")?.text).toBe('"/raid10/a b.img"');
  });

  it("prints the pool as a mounted RAID with size, free, use and mount point", () => {
    const text = Object.fromEntries(poolRecord(pool()).fields.map((field) => [field.name, field.text]));
    expect(poolRecord(pool()).flags).toBe("BM");
    expect(text).toMatchObject({
      type: "raid",
      slot: '"raid10"',
      size: "4 294 967 296",
      free: "3 221 225 472",
      use: "25%",
      "mount-point": '"raid10"',
      "total-inodes": "419 430",
      "free-inodes": "419 425",
    });
    expect(text).not.toHaveProperty("status");
  });

  it("reports no free space while the disk is full", () => {
    const text = Object.fromEntries(poolRecord(pool(true)).fields.map((field) => [field.name, field.text]));
    expect(text).toMatchObject({ free: "0", use: "100%" });
  });

  it("lists exactly the printable properties for where and find", () => {
    const printed = new Set([...names(poolRecord(pool()).fields), ...names(diskRecord(disk, 1).fields)]);
    expect([...printed].sort()).toEqual([...DISK_PROPERTIES].sort());
  });

  it("names as pool-only exactly the properties no file disk prints, exported or not", () => {
    const onDisks = new Set([...names(diskRecord(disk, 1).fields), ...names(diskRecord({ ...disk, nvmeTcpExport: false }, 1).fields)]);
    const poolOnly = names(poolRecord(pool()).fields).filter((name) => !onDisks.has(name));
    expect(poolOnly.sort()).toEqual([...POOL_ONLY_PROPERTIES].sort());
  });
});

describe("file records", () => {
  const at = "2026-11-26T10:00:00.000Z";

  it("prints a file as RouterOS 7 does: bare name and type, size rounded, timestamp", () => {
    const record = fileRecord({ name: "raid10/vols/pvc-1.img", type: "file", size: 10737418240, lastModified: at });
    expect(record.fields.map((field) => `${field.name}=${field.text}`)).toEqual([
      "name=raid10/vols/pvc-1.img",
      "type=.img file",
      "size=10.0GiB",
      "last-modified=2026-11-26 10:00:00",
    ]);
    expect(fileRecord({ name: "raid10/small", type: "file", size: 512, lastModified: at }).fields[2]?.text).toBe("512");
  });

  it("types a file without extension as file, and a directory as directory without size", () => {
    expect(fileRecord({ name: "raid10/blob", type: "file", size: 1, lastModified: at }).fields[1]?.text).toBe("file");
    const directory = fileRecord({ name: "raid10/vols", type: "directory", size: 0, lastModified: at });
    expect(names(directory.fields)).toEqual(["name", "type", "last-modified"]);
    expect([...FILE_PROPERTIES].sort()).toEqual(["last-modified", "name", "size", "type"]);
  });
});
