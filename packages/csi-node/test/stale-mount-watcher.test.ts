import { describeAsRoot } from "@rds-csi/testkit";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger, InternalError } from "@rds-csi/core";
import type { Mounter } from "../src/mount/mounter.js";
import type { NodeContext } from "../src/node-context.js";
import { majorMinorOf } from "../src/nvme/device-nodes.js";
import { readStagingMetadata, stagingMetadataPath } from "../src/staging/staging-metadata.js";
import { StaleMountWatcher } from "../src/stale-mount-watcher.js";
import { readAt, writeAt } from "./support/block-io.js";
import { useNodeRig } from "./support/node-test-rig.js";
import { kubeletCsiPluginDir } from "../src/startup-reconciliation.js";

// Real loop devices, mkfs and mounts through the fake fabric: root only.
const VOLUME = "pvc-watch-1";
const quiet = createLogger({ level: "error", component: "test", stream: new PassThrough().resume() });

// Both sysfs layouts of the kernel: native multipath (head under the subsystem) and nvme_core.multipath=N.
describeAsRoot.each(["native-multipath", "no-multipath"] as const)("stale-mount watcher over the fake fabric (%s)", (layout) => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-watch-", diskSize: "64M", layout });
  const { newHost, stagingDir, stage, publish, unpublish, unstage, blockCapability, stats, mountOf, resolve, metric } = rig;

  const watcherOf = (ctx: NodeContext, maxFailures?: number) =>
    new StaleMountWatcher({ ctx, metadataRoots: [kubeletCsiPluginDir(rig.dir)], logger: quiet, intervalMs: 20, ...(maxFailures !== undefined && { maxFailures }) });

  /** Stage + publish (filesystem), a synced file, then a reconnect that renumbers the device. */
  const stagedAndRenumbered = async () => {
    const { a, staging, target, before } = await rig.publishedWithFile("survives the renumbering");
    await a.fabric.reconnect(rig.nqn, { renumber: true });
    const after = (await resolve(a))!;
    expect(after.majorMinor).not.toBe(before.majorMinor);
    return { a, staging, target, before, after };
  };

  it("filesystem: moves the staging mount and re-binds the pod's target without any RPC; the target says the pod must restart", async () => {
    const { a, staging, target, after } = await stagedAndRenumbered();
    expect((await stats(a, target, staging)).volumeCondition?.message).toMatch(/stale mount: .* is on device/);

    const watcher = watcherOf(a.ctx);
    expect(await watcher.sweep()).toEqual([{ volumeId: VOLUME, stagingPath: staging, outcome: "recovered" }]);
    expect((await mountOf(staging))?.majorMinor).toBe(after.majorMinor);
    expect((await mountOf(target))?.majorMinor).toBe(after.majorMinor);
    expect(await readFile(join(staging, "kept.txt"), "utf8")).toBe("survives the renumbering");
    expect(await readFile(join(target, "kept.txt"), "utf8")).toBe("survives the renumbering");
    const metadata = await readStagingMetadata(staging, VOLUME);
    expect(metadata?.device).toEqual({ majorMinor: after.majorMinor, nsid: after.nsid, uuid: after.uuid });
    expect(metadata?.publishedTargets).toEqual([{ path: target, readonly: false, reboundAt: expect.any(String) }]);

    expect((await stats(a, staging, staging)).volumeCondition).toEqual({ abnormal: false, message: "volume is healthy" });
    const onTarget = (await stats(a, target, staging)).volumeCondition;
    expect(onTarget?.abnormal).toBe(true);
    expect(onTarget?.message).toMatch(/re-bound onto the volume's new device .* restart the pod/);
    expect(await metric(a, 'rds_csi_node_stale_mounts_detected_total{kind="filesystem"}')).toBe("1");
    expect(await metric(a, 'rds_csi_node_stale_mount_recoveries_total{kind="filesystem",outcome="recovered"}')).toBe("1");

    expect(await watcher.sweep()).toEqual([{ volumeId: VOLUME, stagingPath: staging, outcome: "current" }]);
    expect(await metric(a, 'rds_csi_node_stale_mounts_detected_total{kind="filesystem"}')).toBe("1");

    await unpublish(a, target);
    await unstage(a, staging);
    expect(await rig.mountsUnder()).toEqual([]);
  }, 60_000);

  /** Stage + publish (block), a pattern written through the target, then a reconnect that renumbers the device. */
  const blockPublishedAndRenumbered = async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, "pods", "a", "block", VOLUME);
    await stage(a, staging, blockCapability());
    await publish(a, staging, target, blockCapability());
    const pattern = Buffer.alloc(4096, 0xa5);
    await writeAt(target, pattern);
    await a.fabric.reconnect(rig.nqn, { renumber: true });
    const after = (await resolve(a))!;
    expect(majorMinorOf((await stat(target)).rdev)).not.toBe(after.majorMinor);
    return { a, staging, target, pattern, after };
  };

  it("block: the running loop recreates the target on the new major:minor, readable; stop() ends it", async () => {
    const { a, staging, target, pattern, after } = await blockPublishedAndRenumbered();
    const watcher = watcherOf(a.ctx);
    watcher.start();
    try {
      // The metadata is rewritten near the end; stop() waits for the rest of the recovery.
      while ((await readStagingMetadata(staging, VOLUME))?.device.majorMinor !== after.majorMinor) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await watcher.stop();
    }
    expect((await readAt(target, pattern.length)).equals(pattern)).toBe(true);
    expect(majorMinorOf((await stat(target)).rdev)).toBe(after.majorMinor);
    expect(await metric(a, 'rds_csi_node_stale_mount_recoveries_total{kind="block",outcome="recovered"}')).toBe("1");
    expect((await stats(a, target, staging)).volumeCondition?.message).toMatch(/re-bound/);
    await unpublish(a, target);
    await unstage(a, staging);
  }, 60_000);

  it("stop() returns only once a recovery in flight has finished, although the volume lock let go of it", async () => {
    const { a, staging, target, after } = await blockPublishedAndRenumbered();
    let entered!: () => void;
    const binding = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const held: Mounter = {
      ...bound(a.ctx.mounter),
      bindMount: async (...args) => {
        entered();
        await released;
        return a.ctx.mounter.bindMount(...args);
      },
    };
    const logged = new PassThrough();
    const lines: string[] = [];
    logged.on("data", (chunk: Buffer) => lines.push(chunk.toString()));
    const logger = createLogger({ level: "warn", component: "test", stream: logged });
    const watcher = new StaleMountWatcher({ ctx: { ...a.ctx, mounter: held }, metadataRoots: [kubeletCsiPluginDir(rig.dir)], logger, intervalMs: 20 });
    watcher.start();
    await binding;
    let stopped = false;
    const stopping = watcher.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(stopped).toBe(false); // the recovery is still re-binding the pod's target
    release();
    await stopping;
    expect(majorMinorOf((await stat(target)).rdev)).toBe(after.majorMinor);
    expect((await readStagingMetadata(staging, VOLUME))?.device.majorMinor).toBe(after.majorMinor);
    expect(await metric(a, 'rds_csi_node_stale_mount_recoveries_total{kind="block",outcome="recovered"}')).toBe("1");
    expect(lines.join("")).not.toMatch(/recovery failed/); // the shutdown's abort is no failure
    await unpublish(a, target);
    await unstage(a, staging);
  }, 60_000);

  it("refuses when the device holds another filesystem than the staged one, once, and leaves the mounts alone", async () => {
    const { a, staging, target, before } = await stagedAndRenumbered();
    const path = stagingMetadataPath(staging, VOLUME);
    const recorded = JSON.parse(await readFile(path, "utf8")) as { filesystemUuid: string };
    recorded.filesystemUuid = "00000000-0000-4000-8000-000000000000"; // as if another volume's data now answered at this NQN
    await writeFile(path, JSON.stringify(recorded));

    const watcher = watcherOf(a.ctx);
    expect((await watcher.sweep()).map((r) => r.outcome)).toEqual(["refused"]);
    expect((await watcher.sweep()).map((r) => r.outcome)).toEqual(["refused"]); // not tried again
    expect((await mountOf(staging))?.majorMinor).toBe(before.majorMinor);
    expect((await mountOf(target))?.majorMinor).toBe(before.majorMinor);
    expect(await metric(a, 'rds_csi_node_stale_mount_recoveries_total{kind="filesystem",outcome="refused"}')).toBe("1");
  }, 60_000);

  it("waits, without giving up, while the old device still exists; recovers once it is gone", async () => {
    const { a, staging, target, before, after } = await stagedAndRenumbered();
    // The old namespace device is still there: the recorded number with the same namespace UUID.
    const oldEntry = join(a.fabric.sysfsRoot, "class", "block", "nvme90n1");
    await mkdir(oldEntry, { recursive: true });
    await writeFile(join(oldEntry, "dev"), `${before.majorMinor}\n`);
    await writeFile(join(oldEntry, "uuid"), `${before.uuid}\n`);

    const watcher = watcherOf(a.ctx, 2);
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(...(await watcher.sweep()).map((r) => r.outcome));
    expect(outcomes).toEqual(["waiting", "waiting", "waiting", "waiting"]); // no backoff, never given up
    expect((await mountOf(staging))?.majorMinor).toBe(before.majorMinor);
    expect((await mountOf(target))?.majorMinor).toBe(before.majorMinor);
    const condition = (await stats(a, staging, staging)).volumeCondition?.message;
    expect(condition).toMatch(/stale mount: /);
    expect(condition).toContain(`the old device nvme90n1 (${before.majorMinor}) still exists`);

    await rm(oldEntry, { recursive: true }); // the kernel deleted it
    expect((await watcher.sweep()).map((r) => r.outcome)).toEqual(["recovered"]);
    expect((await mountOf(staging))?.majorMinor).toBe(after.majorMinor);
    expect((await mountOf(target))?.majorMinor).toBe(after.majorMinor);
  }, 60_000);

  it("skips a volume whose lock an RPC holds, and recovers it on the next sweep", async () => {
    const { a, staging, after } = await stagedAndRenumbered();
    const watcher = watcherOf(a.ctx);
    let release!: () => void;
    const held = a.ctx.locks.run(VOLUME, AbortSignal.timeout(30_000), () => new Promise<void>((r) => (release = r)));
    expect((await watcher.sweep()).map((r) => r.outcome)).toEqual(["busy"]);
    expect((await mountOf(staging))?.majorMinor).not.toBe(after.majorMinor);
    release();
    await held;
    expect((await watcher.sweep()).map((r) => r.outcome)).toEqual(["recovered"]);
    expect((await mountOf(staging))?.majorMinor).toBe(after.majorMinor);
  }, 60_000);

  it("backs off after a failed recovery and gives up on the device after maxFailures", async () => {
    const { a } = await stagedAndRenumbered();
    const failing: Mounter = { ...bound(a.ctx.mounter), mount: () => Promise.reject(new InternalError("mount: wrong fs type")) };
    const watcher = watcherOf({ ...a.ctx, mounter: failing }, 3);
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) outcomes.push(...(await watcher.sweep()).map((r) => r.outcome));
    expect(outcomes).toEqual(["failed", "failed", "backoff", "failed", "gave-up"]);
    expect(await metric(a, 'rds_csi_node_stale_mount_recoveries_total{kind="filesystem",outcome="failed"}')).toBe("3");
  }, 60_000);
});

/** The mounter's methods as plain functions, so a test can replace one. */
function bound(mounter: Mounter): Mounter {
  return {
    mount: mounter.mount.bind(mounter),
    bindMount: mounter.bindMount.bind(mounter),
    unmount: mounter.unmount.bind(mounter),
    mountsOf: mounter.mountsOf.bind(mounter),
    mountTable: mounter.mountTable.bind(mounter),
    isMountPoint: mounter.isMountPoint.bind(mounter),
  };
}
