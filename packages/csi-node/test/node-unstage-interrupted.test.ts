import { describeAsRoot } from "@rds-csi/testkit";
import { chmod, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger, InternalError } from "@rds-csi/core";
import { readStagingMetadata, stagingMetadataPath } from "../src/staging/staging-metadata.js";
import { StaleMountWatcher } from "../src/stale-mount-watcher.js";
import { useNodeRig, type TestHost } from "./support/node-test-rig.js";
import { kubeletCsiPluginDir } from "../src/startup-reconciliation.js";

// Real loop devices, mkfs and mounts through the fake fabric: root only.
const VOLUME = "pvc-unstage-cut-1";
const quiet = createLogger({ level: "error", component: "test", stream: new PassThrough().resume() });

/**
 * An nvme-cli whose `disconnect` exits 1 while switched on: before running the real one (nothing
 * disconnected), or after it (the controller is gone, but the caller hears a failure, as when the
 * plugin dies between the two).
 */
async function failingDisconnect(dir: string, shim: string, when: "before" | "after") {
  const flag = join(dir, "disconnect-fails");
  const path = join(dir, "nvme-failing-disconnect");
  const fail = `if [ "$1" = disconnect ] && [ -e "${flag}" ]; then echo "injected disconnect failure" >&2; exit 1; fi`;
  await writeFile(path, when === "before" ? `#!/bin/sh\n${fail}\nexec "${shim}" "$@"\n` : `#!/bin/sh\n"${shim}" "$@"\nrc=$?\n${fail}\nexit $rc\n`);
  await chmod(path, 0o755);
  return { path, fail: () => writeFile(flag, ""), heal: () => rm(flag, { force: true }) };
}

describeAsRoot("NodeUnstage that fails part-way: the volume stays marked as being unstaged until kubelet decides", () => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-unstage-cut-", diskSize: "32M" });
  const { newHost, stagingDir, stage, unstage, stats, mountOf, resolve } = rig;

  const sweep = async (host: TestHost) =>
    (await new StaleMountWatcher({ ctx: host.ctx, metadataRoots: [kubeletCsiPluginDir(rig.dir)], logger: quiet, intervalMs: 20 }).sweep()).map((r) => r.outcome);

  /** Filesystem volume staged on node-a, then an unstage whose disconnect fails: unmounted, metadata kept. */
  const halfUnstaged = async (when: "before" | "after") => {
    let nvme: Awaited<ReturnType<typeof failingDisconnect>> | undefined;
    const a = await newHost("node-a", { nvmeCli: async (shim) => (nvme = await failingDisconnect(rig.dir, shim, when)).path });
    const staging = await stagingDir("a");
    await stage(a, staging);
    await nvme!.fail();
    await expect(unstage(a, staging)).rejects.toBeInstanceOf(InternalError);
    expect(await mountOf(staging)).toBeUndefined();
    expect((await a.fabric.namespace(rig.nqn)) === undefined).toBe(when === "after");
    return { a, staging, nvme: nvme! };
  };

  it.each(["before", "after"] as const)(
    "disconnect fails %s disconnecting: metadata marked, the watcher neither reconnects nor remounts, the retried unstage converges",
    async (when) => {
      const { a, staging, nvme } = await halfUnstaged(when);
      const marked = await readStagingMetadata(staging, VOLUME);
      expect(Date.parse(marked?.unstagingSince ?? "")).not.toBeNaN();
      expect((await stats(a, staging, staging)).volumeCondition?.message).toContain(`being unstaged since ${marked!.unstagingSince}`);

      const connects = a.connects;
      expect([...(await sweep(a)), ...(await sweep(a))]).toEqual(["unstaging", "unstaging"]);
      expect(a.connects).toBe(connects);
      expect(await mountOf(staging)).toBeUndefined();
      expect((await a.fabric.namespace(rig.nqn)) === undefined).toBe(when === "after");
      // A failed retry keeps the first mark: the unstage began then.
      if (when === "before") {
        await expect(unstage(a, staging)).rejects.toBeInstanceOf(InternalError);
        expect((await readStagingMetadata(staging, VOLUME))?.unstagingSince).toBe(marked!.unstagingSince);
      }

      await nvme.heal();
      expect(await unstage(a, staging)).toEqual({});
      expect(await readStagingMetadata(staging, VOLUME)).toBeUndefined();
      expect(await a.fabric.namespace(rig.nqn)).toBeUndefined();
      expect(await rig.mountsUnder()).toEqual([]);
      expect(await sweep(a)).toEqual([]);
    },
    90_000,
  );

  it("a NodeStage after the failed unstage stages as usual and clears the mark; the watcher looks after it again", async () => {
    const { a, staging, nvme } = await halfUnstaged("after");
    await nvme.heal();
    expect(await stage(a, staging)).toEqual({});
    const device = (await resolve(a))!;
    expect((await mountOf(staging))?.majorMinor).toBe(device.majorMinor);
    const metadata = await readStagingMetadata(staging, VOLUME);
    expect(metadata?.unstagingSince).toBeUndefined();
    expect(metadata?.device.majorMinor).toBe(device.majorMinor);
    expect(await sweep(a)).toEqual(["current"]);

    // Now lost for good: the watcher brings a staged volume back, as ever.
    await a.fabric.loseControllerForGood(rig.nqn);
    expect(await sweep(a)).toEqual(["recovered"]);
    expect((await mountOf(staging))?.majorMinor).toBe((await resolve(a))?.majorMinor);
    expect(await unstage(a, staging)).toEqual({});
    expect(await rig.mountsUnder()).toEqual([]);
  }, 90_000);

  it("a NodeStage of a volume marked before its unstage changed anything (the plugin died there) answers staged and clears the mark", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging);
    const path = stagingMetadataPath(staging, VOLUME);
    await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(path, "utf8")), unstagingSince: new Date().toISOString() }));
    expect(await sweep(a)).toEqual(["unstaging"]);

    const connects = a.connects;
    expect(await stage(a, staging)).toEqual({});
    expect(a.connects).toBe(connects); // it was live: nothing redone
    expect((await readStagingMetadata(staging, VOLUME))?.unstagingSince).toBeUndefined();
    expect((await stats(a, staging, staging)).volumeCondition).toEqual({ abnormal: false, message: "volume is healthy" });
    expect(await sweep(a)).toEqual(["current"]);
    expect(await unstage(a, staging)).toEqual({});
    expect(await rig.mountsUnder()).toEqual([]);
  }, 90_000);
});
