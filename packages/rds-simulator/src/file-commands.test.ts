import { access, stat } from "node:fs/promises";
import { startTestSimulator, type TestSimulator } from "./test-support/test-simulator.js";
import type { SshSession } from "./test-support/ssh-exec.js";

const lines = (text: string): string[] => text.split("\r\n");

describe("/file over SSH", () => {
  let t: TestSimulator;
  let ssh: SshSession;
  const run = async (command: string): Promise<string> => (await ssh.exec(command)).stdout;

  beforeEach(async () => {
    t = await startTestSimulator({ poolSize: "10G", now: () => new Date("2026-11-26T10:00:00Z") });
    ssh = await t.connect();
    await run('/disk add type=file slot="pvc-1" file-path="/raid10/vols/pvc-1.img" file-size=1G');
    await run('/disk add type=file slot="pvc-2" file-path="/raid10/vols/pvc-2.img" file-size=2G');
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it("prints directories and files as RouterOS 7 does: bare names, rounded sizes, timestamps", async () => {
    expect(lines(await run("/file print detail"))).toEqual([
      " 0 name=raid10/vols type=directory last-modified=2026-11-26 10:00:00",
      " ",
      " 1 name=raid10/vols/pvc-1.img type=.img file size=1024.0MiB",
      "   last-modified=2026-11-26 10:00:00",
      " ",
      " 2 name=raid10/vols/pvc-2.img type=.img file size=2.0GiB",
      "   last-modified=2026-11-26 10:00:00",
      "",
    ]);
    expect(lines(await run('/file print terse where name="raid10/vols/pvc-2.img"'))).toEqual([
      " 2 name=raid10/vols/pvc-2.img type=.img file size=2.0GiB last-modified=2026-11-26 10:00:00",
      "",
    ]);
  });

  it("selects by exact name and by regular expression, keeping the full list's numbers", async () => {
    expect(await run('/file print detail where name="raid10/vols/pvc-2.img"')).toMatch(/^ 2 name=raid10\/vols\/pvc-2.img /u);
    const listed = lines(await run(String.raw`/file print detail where name~"^raid10/vols/[^/]+\\.img\$"`));
    expect(listed.filter((line) => line.startsWith(" 1 ") || line.startsWith(" 2 "))).toHaveLength(2);
    expect(await run('/file print detail where name~"^raid10/vols/" and type="directory"')).toBe("");
  });

  it("refuses to remove a file a disk still uses", async () => {
    expect(await run('/file remove [find name="raid10/vols/pvc-1.img"]')).toBe("failure: file is in use\r\n");
    await access(`${t.stateDir}/files/raid10/vols/pvc-1.img`);
  });

  it("deletes the file after its disk is gone, and gives its space back to the pool", async () => {
    await run('/disk remove [find slot="pvc-1"]');
    expect(await run('/disk print detail where mount-point="raid10"')).toContain("free=7 516 192 768");
    expect(await run('/file remove [find name="raid10/vols/pvc-1.img"]')).toBe("");
    await expect(access(`${t.stateDir}/files/raid10/vols/pvc-1.img`)).rejects.toThrow("ENOENT");
    expect(t.sim.files().map((entry) => entry.name)).toEqual(["raid10/vols", "raid10/vols/pvc-2.img"]);
    expect(await run('/disk print detail where mount-point="raid10"')).toContain("free=8 589 934 592");
  });

  it("removes a directory only when it is empty or goes together with everything in it", async () => {
    await run("/disk remove [find]");
    expect(await run('/file remove [find name="raid10/vols"]')).toBe("failure: directory is not empty\r\n");
    expect(await run('/file remove [find name~"^raid10/vols"]')).toBe("");
    expect(t.sim.files()).toEqual([]);
    await expect(stat(`${t.stateDir}/files/raid10/vols`)).rejects.toThrow("ENOENT");
  });

  it("removes by name, and says no such item for a name that does not exist", async () => {
    await run('/disk remove [find slot="pvc-2"]');
    expect(await run('/file remove "raid10/vols/pvc-2.img"')).toBe("");
    expect(await run('/file remove "raid10/vols/pvc-2.img"')).toBe("no such item\r\n");
    expect(await run('/file remove [find name="raid10/vols/pvc-2.img"]')).toBe("");
  });
});
