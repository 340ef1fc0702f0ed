import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { LoopDevices } from "../mount/loop-device.testing.js";
import { parseMountInfo } from "../mount/parse-mountinfo.js";
import { isOpenedExclusively } from "./device-usage.js";

const withLoops = LoopDevices.available() ? describe : describe.skip;

withLoops("isOpenedExclusively (real loop device, root)", () => {
  let loops: LoopDevices;
  beforeEach(() => {
    loops = new LoopDevices();
  });
  afterEach(() => loops.cleanup());

  it("sees a mount in another mount namespace that this process's mount table does not show", async () => {
    const { device } = loops.create(16 * 1024 * 1024);
    execFileSync("mkfs.ext4", ["-q", device]);
    const mountPoint = loops.mkdir("private");
    expect(await isOpenedExclusively(device)).toBe(false);

    // A private mount namespace holds the filesystem mounted, as a container's copy of a mount would.
    const holder = spawn("unshare", ["--mount", "--propagation", "private", "sh", "-c", `mount ${device} ${mountPoint} && echo mounted && exec sleep 60`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const [line] = (await once(holder.stdout!, "data")) as [Buffer];
      expect(line.toString().trim()).toBe("mounted");
      const ours = parseMountInfo(await readFile("/proc/self/mountinfo", "utf8"));
      expect(ours.some((m) => m.mountPoint === mountPoint)).toBe(false);
      expect(await isOpenedExclusively(device)).toBe(true);
    } finally {
      holder.kill("SIGKILL");
      await once(holder, "exit");
    }
    // The namespace died with its last process, and its mount with it.
    expect(await isOpenedExclusively(device)).toBe(false);
  });

  it("is undefined for a device it cannot open", async () => {
    expect(await isOpenedExclusively(`${loops.dir}/no-such-device`)).toBeUndefined();
  });
});
