import { open, readFile } from "node:fs/promises";
import { startTestSimulator, type TestSimulator } from "./test-support/test-simulator.js";
import type { SshSession } from "./test-support/ssh-exec.js";

const MiB = 1024 * 1024;

describe("/disk add copy-from", () => {
  let t: TestSimulator;
  let ssh: SshSession;
  const run = async (command: string): Promise<string> => (await ssh.exec(command)).stdout;
  const pattern = Buffer.from("rds-csi data that must survive a copy\n".repeat(100));

  async function sourceWithData(): Promise<string> {
    await run('/disk add type=file slot="pvc-src" file-path="/raid10/vols/pvc-src.img" file-size=4M');
    const source = t.sim.disks()[0]!.backingFile;
    const handle = await open(source, "r+");
    // Data at the start and past the 1 MiB copy chunk, with a hole between.
    await handle.write(pattern, 0, pattern.length, 0);
    await handle.write(pattern, 0, pattern.length, 3 * MiB);
    await handle.close();
    return source;
  }

  afterEach(async () => {
    await t.cleanup();
  });

  it("settings-only (default): the copy is a new, empty file of the requested size", async () => {
    t = await startTestSimulator({});
    ssh = await t.connect();
    await sourceWithData();
    expect(await run('/disk add type=file slot="snap-1" file-path="/raid10/snaps/snap-1.img" copy-from=[find slot="pvc-src"] file-size=6M')).toBe("");
    const copy = t.sim.disks().find((disk) => disk.slot === "snap-1")!;
    expect(copy.size).toBe(6 * MiB);
    expect((await readFile(copy.backingFile)).equals(Buffer.alloc(6 * MiB))).toBe(true);
  });

  it("data: the copy holds the source's bytes, extended with zeros to the requested size", async () => {
    t = await startTestSimulator({ copyFrom: "data" });
    ssh = await t.connect();
    const source = await sourceWithData();
    await run('/disk add type=file slot="pvc-clone" file-path="/raid10/vols/pvc-clone.img" copy-from=[find slot="pvc-src"] file-size=6M');
    const copy = await readFile(t.sim.disks().find((disk) => disk.slot === "pvc-clone")!.backingFile);
    expect(copy).toHaveLength(6 * MiB);
    expect(copy.subarray(0, 4 * MiB).equals(await readFile(source))).toBe(true);
    expect(copy.subarray(4 * MiB).equals(Buffer.alloc(2 * MiB))).toBe(true);
  });

  it("takes the source's size when none is given, follows a setting change, and refuses a smaller size", async () => {
    t = await startTestSimulator({});
    ssh = await t.connect();
    const source = await sourceWithData();
    await t.sim.updateSettings({ copyFrom: "data" });
    await run('/disk add type=file slot="snap-2" file-path="/raid10/snaps/snap-2.img" copy-from=[find where slot="pvc-src"]');
    const copy = t.sim.disks().find((disk) => disk.slot === "snap-2")!;
    expect(copy.size).toBe(4 * MiB);
    expect((await readFile(copy.backingFile)).equals(await readFile(source))).toBe(true);
    expect(await run('/disk add type=file slot="snap-3" file-path="/raid10/snaps/snap-3.img" copy-from=[find slot="pvc-src"] file-size=1M')).toBe(
      "failure: new size is smaller than current size\r\n",
    );
  });

  it("data-in-background: the disk exists at once, its file grows while the data is copied, then reaches the requested size", async () => {
    t = await startTestSimulator({ copyFrom: "data-in-background" });
    ssh = await t.connect();
    const source = await sourceWithData();
    await run('/disk add type=file slot="pvc-bg" file-path="/raid10/vols/pvc-bg.img" copy-from=[find slot="pvc-src"] file-size=6M');
    const sizes = [t.sim.disks().find((disk) => disk.slot === "pvc-bg")!.size];
    expect(sizes[0]).toBe(0);
    expect(await run('/disk print terse where slot="pvc-bg"')).toContain(" size=0 ");
    while (sizes.at(-1)! < 6 * MiB) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      sizes.push(t.sim.disks().find((disk) => disk.slot === "pvc-bg")!.size);
    }
    // It grew through sizes between nothing and the source's before it reached the requested size.
    expect(sizes.some((size) => size > 0 && size < 4 * MiB)).toBe(true);
    const copy = await readFile(t.sim.disks().find((disk) => disk.slot === "pvc-bg")!.backingFile);
    expect(copy.subarray(0, 4 * MiB).equals(await readFile(source))).toBe(true);
    expect(copy).toHaveLength(6 * MiB);
  });

  it("data-ignoring-size: the copy holds the data at the source's size, whatever file-size says", async () => {
    t = await startTestSimulator({ copyFrom: "data-ignoring-size" });
    ssh = await t.connect();
    const source = await sourceWithData();
    await run('/disk add type=file slot="pvc-big" file-path="/raid10/vols/pvc-big.img" copy-from=[find slot="pvc-src"] file-size=6M');
    const copy = t.sim.disks().find((disk) => disk.slot === "pvc-big")!;
    expect(copy.size).toBe(4 * MiB);
    expect((await readFile(copy.backingFile)).equals(await readFile(source))).toBe(true);
  });
});
