import { stat, unlink } from "node:fs/promises";
import { StateStore } from "./state-store.js";
import { startTestSimulator, type TestSimulator } from "./test-support/test-simulator.js";
import type { SshSession } from "./test-support/ssh-exec.js";

const ID = "pvc-5b0c1f2e-0000-4000-8000-123456789abc";
const NQN = `nqn.2000-02.com.mikrotik:${ID}`;
const GiB = 1024 ** 3;
const ADD_VOLUME =
  `/disk add type=file slot="${ID}" file-path="/raid10/vols/${ID}.img" file-size=10G nvme-tcp-export=yes ` +
  `nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${NQN}" comment="rds-csi:v1 kind=volume"`;

const lines = (text: string): string[] => text.split("\r\n");

describe("/disk over SSH", () => {
  let t: TestSimulator;
  let ssh: SshSession;
  const run = async (command: string): Promise<string> => (await ssh.exec(command)).stdout;

  // Byte-for-byte layouts of the driver's kind of disk: without other people's disks (see the next suite).
  beforeEach(async () => {
    t = await startTestSimulator({ poolSize: "100G", foreignDisks: "none", now: () => new Date("2026-11-26T10:00:00Z") });
    ssh = await t.connect();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it("creates a sparse backing file and prints the disk exactly as RouterOS does at width 80", async () => {
    expect(await ssh.exec(ADD_VOLUME)).toEqual({ stdout: "", stderr: "", code: 0 });
    const backing = await stat(`${t.stateDir}/files/raid10/vols/${ID}.img`);
    expect(backing.size).toBe(10 * GiB);
    expect(backing.blocks).toBe(0);
    expect(lines(await run(`/disk print detail where slot="${ID}"`))).toEqual([
      "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT",
      " 1 Bt ;;; rds-csi:v1 kind=volume",
      `      type=file slot="${ID}" slot-default=""`,
      '      parent="" fs=-',
      `      model="/raid10/vols/${ID}.img"`,
      "      size=10 737 418 240 mount-filesystem=no mount-read-only=no compress=no",
      "      sector-size=512 raid-master=none nvme-tcp-export=yes",
      "      nvme-tcp-server-port=4420",
      '      nvme-tcp-server-nqn="nqn.2000-02.com.mikrotik:pvc-5b0c1f2e-0000-4000-8000-',
      '      123456789abc" nvme-tcp-server-allow-host-name="" iscsi-export=no',
      "      nfs-sharing=no smb-sharing=no media-sharing=no media-interface=none",
      "      swap=no",
      `      file-path=/raid10/vols/${ID}.img`,
      "      file-size=10.0GiB file-offset=0",
      "",
    ]);
  });

  it("wraps at the width asked for in the login name (admin+ct200w)", async () => {
    await run(ADD_VOLUME);
    const wide = await t.connect("+ct200w");
    expect(lines((await wide.exec(`/disk print detail where slot="${ID}"`)).stdout)).toEqual([
      "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT",
      " 1 Bt ;;; rds-csi:v1 kind=volume",
      `      type=file slot="${ID}" slot-default="" parent="" fs=- model="/raid10/vols/${ID}.img" size=10 737 418 240 mount-filesystem=no`,
      "      mount-read-only=no compress=no sector-size=512 raid-master=none nvme-tcp-export=yes nvme-tcp-server-port=4420",
      `      nvme-tcp-server-nqn="${NQN}" nvme-tcp-server-allow-host-name="" iscsi-export=no nfs-sharing=no smb-sharing=no media-sharing=no`,
      `      media-interface=none swap=no file-path=/raid10/vols/${ID}.img file-size=10.0GiB file-offset=0`,
      "",
    ]);
  });

  it("breaks lines as the detailWrap setting says: cut fills every line to the width, inside keys and values alike", async () => {
    await run(ADD_VOLUME);
    const unwrapped = lines((await (await t.connect("+ct1000w")).exec(`/disk print detail where slot="${ID}"`)).stdout);
    await t.sim.updateSettings({ detailWrap: "cut" });
    const cut = lines(await run(`/disk print detail where slot="${ID}"`));
    expect(cut.slice(0, 2)).toEqual(unwrapped.slice(0, 2));
    const fields = cut.slice(2, -1);
    expect(fields.slice(0, -1).map((line) => line.length)).toEqual(fields.slice(0, -1).map(() => 80));
    // Nothing added or removed: the lines under the indentation run on into the one unwrapped line.
    expect(fields.map((line) => line.slice(6)).join("")).toBe(unwrapped[2]!.slice(6));
    expect(fields).toContain("      =no sector-size=512 raid-master=none nvme-tcp-export=yes nvme-tcp-server-p");
  });

  it("prints the pool record for where mount-point=, with free space that counts every file in full", async () => {
    const pool = async (): Promise<string[]> => lines(await run('/disk print detail where mount-point="raid10"'));
    const before = await pool();
    expect(before.slice(0, 2)).toEqual([
      "Flags: B - BLOCK-DEVICE; M - MOUNTED",
      ' 0 BM type=raid slot="raid10" slot-default="" parent="" fs-label="raid10"',
    ]);
    expect(before[3]).toBe("      size=107 374 182 400 free=107 374 182 400 total-inodes=10 485 760");
    expect(before[4]).toMatch(/^ {6}free-inodes=10 485 756 use=0% mount-point="raid10" mount-filesystem=yes$/u);
    await run(ADD_VOLUME);
    const after = await pool();
    expect(after[3]).toBe("      size=107 374 182 400 free=96 636 764 160 total-inodes=10 485 760");
    expect(after[4]).toContain("use=10%");
  });

  it("prints every disk with where type=file, numbered after the pool, separated by a line holding one space", async () => {
    await run(ADD_VOLUME);
    await run('/disk add type=file slot="snap-1" file-path=/raid10/snaps/snap-1.img file-size=1G');
    const out = lines(await run('/disk print detail where type="file"'));
    expect(out[0]).toBe("Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT");
    expect(out.filter((line) => /^ ?\d /u.test(line))).toEqual([" 1 Bt ;;; rds-csi:v1 kind=volume", ' 2 B  type=file slot="snap-1" slot-default="" parent="" fs=-']);
    expect(out[out.indexOf(' 2 B  type=file slot="snap-1" slot-default="" parent="" fs=-') - 1]).toBe(" ");
    const full = lines(await run("/disk print detail without-paging"));
    expect(full[0]).toBe("Flags: B - BLOCK-DEVICE; M - MOUNTED; t - NVME-TCP-EXPORT");
    expect(full.filter((line) => /^ ?\d /u.test(line)).map((line) => line.slice(0, 7))).toEqual([" 0 BM  ", " 1 B t ", " 2 B   "]);
  });

  it("selects with ~ and and, and prints nothing when nothing matches", async () => {
    await run(ADD_VOLUME);
    expect(await run('/disk print detail where slot~"^pvc-" and nvme-tcp-export=yes')).toContain(`slot="${ID}"`);
    expect(await run('/disk print detail where slot~"^snap-"')).toBe("");
    expect(await run(`/disk print detail where slot="${ID}" and size=10737418240`)).toContain("file-size=10.0GiB");
  });

  it("finds a disk by slot or file-path with the number a full print gives it, also after an earlier disk went", async () => {
    for (const slot of ["a", "b", "c"]) await run(`/disk add type=file slot="${slot}" file-path=/raid10/${slot}.img file-size=1G`);
    await run('/disk remove [find slot="a"]');
    // The index line of each printed record, up to the slot.
    const numbered = (text: string): string[] => lines(text).flatMap((line) => /^ ?\d .*? slot="[^"]*"/u.exec(line) ?? []);
    expect(numbered(await run('/disk print detail where slot="c"'))).toEqual([' 2 B type=file slot="c"']);
    expect(numbered(await run("/disk print detail where file-path=/raid10/c.img"))).toEqual(numbered(await run('/disk print detail where slot="c"')));
    expect(await run('/disk print detail where slot="c" and file-path=/raid10/b.img')).toBe("");
    expect(await run('/disk print detail where slot="a"')).toBe("");
    expect(numbered(await run('/disk print detail where mount-point="raid10"'))).toEqual([' 0 BM type=raid slot="raid10"']);
    await run('/disk set [find file-path=/raid10/b.img] comment="found by file"');
    expect(await run('/disk print detail where slot="b"')).toContain(";;; found by file");
  });

  it("grows a disk, extending its sparse file, and refuses to shrink it", async () => {
    await run(ADD_VOLUME);
    expect(await run(`/disk set [find slot="${ID}"] file-size=20G`)).toBe("");
    expect((await stat(`${t.stateDir}/files/raid10/vols/${ID}.img`)).size).toBe(20 * GiB);
    expect(await run(`/disk print detail where slot="${ID}"`)).toContain("size=21 474 836 480");
    expect(await run(`/disk set [find slot="${ID}"] file-size=20G`)).toBe("");
    expect(await run(`/disk set [find slot="${ID}"] file-size=1G`)).toBe("failure: new size is smaller than current size\r\n");
    expect(await run(`/disk set [find slot="${ID}"] file-size=200G`)).toBe("failure: not enough space\r\n");
    expect(t.sim.disks()[0]?.size).toBe(20 * GiB);
  });

  it("changes export settings and the comment; an unexported disk loses its server fields", async () => {
    await run(ADD_VOLUME);
    const hosts = "nqn.2014-08.org.nvmexpress:uuid:a,nqn.2014-08.org.nvmexpress:uuid:b";
    await run(`/disk set [find slot="${ID}"] nvme-tcp-server-allow-host-name="${hosts}" comment="moved" nvme-tcp-server-port=4421`);
    const wide = await t.connect("+ct300w");
    const printed = (await wide.exec(`/disk print detail where slot="${ID}"`)).stdout;
    expect(printed).toContain(" 1 Bt ;;; moved\r\n");
    expect(printed).toContain(`nvme-tcp-server-port=4421 nvme-tcp-server-nqn="${NQN}" nvme-tcp-server-allow-host-name="${hosts}"`);
    await run(`/disk set ${ID} nvme-tcp-export=no nvme-tcp-server-nqn="" comment=""`);
    const unexported = (await wide.exec(`/disk print detail where slot="${ID}"`)).stdout;
    expect(unexported).toContain(`\r\n 1 B type=file slot="${ID}"`);
    expect(unexported).toContain("raid-master=none nvme-tcp-export=no iscsi-export=no");
    expect(unexported).not.toContain(";;;");
  });

  it("removes the disk item but keeps its file", async () => {
    await run(ADD_VOLUME);
    expect(await run(`/disk remove [find slot="${ID}"]`)).toBe("");
    expect(await run(`/disk print detail where slot="${ID}"`)).toBe("");
    expect((await stat(`${t.stateDir}/files/raid10/vols/${ID}.img`)).size).toBe(10 * GiB);
    expect(await run(`/file print detail where name="raid10/vols/${ID}.img"`)).toContain("size=10.0GiB");
  });

  it("does nothing, silently, when [find] selects nothing; a missing name is no such item", async () => {
    expect(await run('/disk set [find slot="nope"] file-size=1G')).toBe("");
    expect(await run('/disk remove [find slot="nope"]')).toBe("");
    expect(await run("/disk set nope file-size=1G")).toBe("no such item\r\n");
    expect(await run('/disk remove "nope"')).toBe("no such item\r\n");
    await run(ADD_VOLUME);
    expect(await run(`/disk remove ${ID}`)).toBe("");
    expect(t.sim.disks()).toEqual([]);
  });

  it.each([
    ['slot="pvc-2" file-path="/raid10/vols/pvc-2.img" file-size=1G', "missing value(s) of argument(s) type"],
    ['type=file file-path="/raid10/vols/pvc-2.img" file-size=1G', "missing value(s) of argument(s) slot"],
    ['type=file slot="pvc-2" file-size=1G', "missing value(s) of argument(s) file-path"],
    ['type=file slot="pvc-2" file-path="/raid10/vols/pvc-2.img"', "missing value(s) of argument(s) file-size"],
    ['type=raid slot="pvc-2" file-path="/raid10/vols/pvc-2.img" file-size=1G', "input does not match any value of type"],
    ['type=file slot="pvc-2" file-path="/raid10/p.img" file-size=1G nvme-tcp-export=maybe', "input does not match any value of nvme-tcp-export"],
    ['type=file slot="pvc-2" file-path="/raid10/p.img" file-size=1G nvme-tcp-server-port=x', "invalid value for argument nvme-tcp-server-port"],
    ['type=file slot="pvc-2" file-path="/raid10/p.img" file-size=1G nvme-tcp-server-port=0', "value of nvme-tcp-server-port out of range (1..65535)"],
    ['type=file slot="pvc-2" file-path="/raid10/p.img" file-size=1.5G', "invalid value for argument file-size"],
    ['type=file slot="pvc-2" file-path="/raid10/p.img" file-size=0', "value of file-size out of range (1..9223372036854775807)"],
    ['type=file slot="pvc-2" file-path="/raid10/p.img" file-size=9223372036854775808', "value of file-size out of range (1..9223372036854775807)"],
    ['type=file slot="" file-path="/raid10/p.img" file-size=1G', "invalid value for argument slot"],
    ['type=file slot=[find] file-path="/raid10/p.img" file-size=1G', "invalid value for argument slot"],
    ['type=file slot="pvc-2" file-path="/raid10/p.img" copy-from="pvc-1"', "invalid value for argument copy-from"],
    ['type=file slot="pvc-2" file-path="raid10/p.img" file-size=1G', "invalid value for argument file-path"],
    ['type=file slot="pvc-2" file-path="/raid10/../p.img" file-size=1G', "invalid value for argument file-path"],
    ['type=file slot="pvc-2" file-path="/flash/p.img" file-size=1G', "failure: file-path is not on a mounted disk"],
    ['type=file slot="pvc-2" file-path="/raid10/p.img" file-size=101G', "failure: not enough space"],
    ['type=file slot="pvc-2" file-path="/raid10/p.img" file-size=9223372036854775807', "failure: not enough space"],
    ['type=file slot="pvc-2" file-path="/raid10/p.img" copy-from=[find slot="nope"]', "failure: no such item"],
  ])("refuses /disk add %s with %j and creates nothing", async (args, message) => {
    expect(await ssh.exec(`/disk add ${args}`)).toEqual({ stdout: `${message}\r\n`, stderr: "", code: 0 });
    expect(t.sim.disks()).toEqual([]);
    expect(t.sim.files()).toEqual([]);
  });

  it("refuses a second disk with the same slot or the same file", async () => {
    await run(ADD_VOLUME);
    expect(await run(ADD_VOLUME)).toBe(`failure: disk with slot ${ID} already exists\r\n`);
    expect(await run(`/disk add type=file slot="other" file-path="/raid10/vols/${ID}.img" file-size=1G`)).toBe(
      "failure: file already exists\r\n",
    );
    expect(await run(`/disk add type=file slot="other" file-path="/raid10/vols/${ID}.img/x.img" file-size=1G`)).toBe(
      "invalid value for argument file-path\r\n",
    );
    expect(t.sim.disks().map((disk) => disk.slot)).toEqual([ID]);
  });

  it("answers a plain print with a failure, and print as-value outside a script with nothing", async () => {
    await run(ADD_VOLUME);
    expect(await run("/disk print")).toBe('failure: the simulator only implements "print detail" and "print terse"\r\n');
    expect(await run("/file print")).toBe('failure: the simulator only implements "print detail" and "print terse"\r\n');
    expect(await run("/disk print as-value")).toBe("");
    expect(await run("/disk print detail as-value")).toBe("");
  });

  it("prints terse: one unquoted record per line, however narrow the console", async () => {
    await run(`/disk add type=file slot="${ID}" file-path="/raid10/vols/${ID}.img" file-size=1G comment="rds-csi:v1 kind:volume"`);
    const narrow = await t.connect("+ct20w");
    const output = (await narrow.exec(`/disk print terse where slot="${ID}"`)).stdout;
    expect(output.split("\r\n")).toEqual([
      ` 1 B comment=rds-csi:v1 kind:volume type=file slot=${ID} slot-default= parent= fs=- model=/raid10/vols/${ID}.img ` +
        `size=1 073 741 824 mount-filesystem=no mount-read-only=no compress=no sector-size=512 raid-master=none nvme-tcp-export=no ` +
        `iscsi-export=no nfs-sharing=no smb-sharing=no media-sharing=no media-interface=none swap=no file-path=/raid10/vols/${ID}.img ` +
        "file-size=1024.0MiB file-offset=0",
      "",
    ]);
  });

  it("answers syntax errors on stdout with exit status 0, or 1 when errorExitStatus says so", async () => {
    expect(await ssh.exec("/disk print detail; /system reboot")).toEqual({
      stdout: "expected end of command (line 1 column 19)\r\n",
      stderr: "",
      code: 0,
    });
    await t.sim.updateSettings({ errorExitStatus: 1 });
    expect(await ssh.exec("/disks print")).toEqual({ stdout: "bad command name disks (line 1 column 2)\r\n", stderr: "", code: 1 });
    expect((await ssh.exec("/disk print detail")).code).toBe(0);
  });

  it("answers a blank command with nothing", async () => {
    expect(await ssh.exec("")).toEqual({ stdout: "", stderr: "", code: 0 });
  });

  it("answers an I/O failure of a backing file with a failure text", async () => {
    await run(ADD_VOLUME);
    await unlink(`${t.stateDir}/files/raid10/vols/${ID}.img`);
    expect(await run(`/disk set [find slot="${ID}"] file-size=11G`)).toBe("failure: simulator I/O error\r\n");
  });

  it("keeps the pool out of reach of set, remove and copy-from", async () => {
    expect(await run('/disk remove [find slot="raid10"]')).toBe("");
    expect(await run("/disk remove raid10")).toBe("no such item\r\n");
    expect(await run('/disk add type=file slot=c file-path=/raid10/c.img copy-from=[find slot="raid10"]')).toBe("failure: no such item\r\n");
    expect(await run('/disk print detail where mount-point="raid10"')).toContain("type=raid");
  });

  it("persists every change before answering", async () => {
    await run(ADD_VOLUME);
    const saved = await new StateStore(t.stateDir).load();
    expect(saved?.disks.map((disk) => disk.slot)).toEqual([ID]);
  });
});

describe("/disk over SSH among other people's disks (the default)", () => {
  let t: TestSimulator;
  let ssh: SshSession;
  const run = async (command: string): Promise<string> => (await ssh.exec(command)).stdout;

  beforeEach(async () => {
    t = await startTestSimulator({ poolSize: "100G" });
    ssh = await t.connect();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it("lists RAID members, the operator's exports, a disabled disk and odd records before the driver's disks", async () => {
    await run(ADD_VOLUME);
    const terse = lines(await run("/disk print terse")).filter((line) => line !== "");
    expect(terse.map((line) => line.slice(0, 10))).toEqual([
      " 0  BM   t",
      " 1  B r  t",
      " 2  B r  t",
      " 3  B  t t",
      " 4  BM   t",
      " 5 X     c",
      " 6  B  t c",
      " 7  B  t c",
    ]);
    expect(terse[6]).toContain("comment=owner=ops see ticket 42 type=file slot= slot-default=");
    expect(terse[6]).toContain("nvme-tcp-server-port=auto");
    expect(terse[5]).not.toContain(" size=");
    expect(await run('/disk print terse where type="file"')).toContain(`slot=${ID}`);
    expect(lines(await run('/disk print terse where mount-point="raid10"')).filter((line) => line !== "")).toHaveLength(1);
  });

  it("never lets set, remove or copy-from reach them, and keeps their slots taken", async () => {
    expect(await run('/disk remove [find slot="nvme1"]')).toBe("");
    expect(await run("/disk remove vm-storage-001")).toBe("no such item\r\n");
    expect(await run('/disk add type=file slot="vm-storage-001" file-path="/raid10/x.img" file-size=1M')).toBe(
      "failure: disk with slot vm-storage-001 already exists\r\n",
    );
    expect(await run('/disk add type=file slot="c" file-path="/raid10/c.img" copy-from=[find slot="nvme1"]')).toBe("failure: no such item\r\n");
    expect(await run('/disk print terse where slot="nvme1"')).toContain("raid-master=raid10");
  });
});
