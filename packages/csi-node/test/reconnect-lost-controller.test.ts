import { describeAsRoot } from "@rds-csi/testkit";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger } from "@rds-csi/core";
import type { NodeContext } from "../src/node-context.js";
import type { AttachmentState } from "../src/volume-attachment-check.js";
import { readMountTable } from "./support/mount-table.js";
import { majorMinorOf } from "../src/nvme/device-nodes.js";
import { readStagingMetadata, stagingMetadataPath } from "../src/staging/staging-metadata.js";
import { StaleMountWatcher } from "../src/stale-mount-watcher.js";
import { readAt, writeAt } from "./support/block-io.js";
import { useNodeRig, type TestHost } from "./support/node-test-rig.js";
import { kubeletCsiPluginDir } from "../src/startup-reconciliation.js";

// Real loop devices, mkfs and mounts through the fake fabric: root only.
const VOLUME = "pvc-lost-1";

// Both sysfs layouts of the kernel: native multipath (head under the subsystem) and nvme_core.multipath=N.
describeAsRoot.each(["native-multipath", "no-multipath"] as const)("reconnect after the kernel gave up on the controller (fake fabric, %s)", (layout) => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-lost-", diskSize: "64M", layout });
  const { newHost, stagingDir, stage, publish, unpublish, unstage, stats, mountOf, resolve, metric } = rig;

  /** The watcher with its log lines kept, to check what it says and how often. */
  const watcherOf = (host: TestHost, ctx: NodeContext = host.ctx) => {
    const lines: { level: string; message: string }[] = [];
    const stream = new PassThrough();
    stream.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") lines.push(JSON.parse(line) as { level: string; message: string });
    });
    const logger = createLogger({ level: "info", component: "test", stream });
    return { watcher: new StaleMountWatcher({ ctx, metadataRoots: [kubeletCsiPluginDir(rig.dir)], logger, intervalMs: 20 }), lines };
  };
  const sweep = async (watcher: StaleMountWatcher) => (await watcher.sweep()).map((r) => r.outcome);
  const editMetadata = async (staging: string, change: (recorded: Record<string, unknown> & { device: { uuid: string }; filesystemUuid?: string }) => void) => {
    const path = stagingMetadataPath(staging, VOLUME);
    const recorded = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown> & { device: { uuid: string }; filesystemUuid?: string };
    change(recorded);
    await writeFile(path, JSON.stringify(recorded));
  };

  /** Stage + publish (filesystem), a synced file, then ctrl_loss_tmo expires: controller and device gone. */
  const stagedAndLost = async () => {
    const { a, staging, target, before } = await rig.publishedWithFile("survives the outage");
    await a.fabric.loseControllerForGood(rig.nqn);
    expect(await resolve(a)).toBeUndefined();
    return { a, staging, target, before };
  };

  it("retries while the RDS is down, then reconnects with the staged settings, remounts and re-binds; unstage leaves nothing", async () => {
    const { a, staging, target, before } = await stagedAndLost();
    const lostCondition = (await stats(a, target, staging)).volumeCondition;
    expect(lostCondition?.abnormal).toBe(true);
    expect(lostCondition?.message).toMatch(/^NVMe\/TCP connection lost: no controller is left for .* at 127\.0\.0\.1:4420 \(the kernel gives up after ctrl_loss_tmo 60 s\); I\/O fails until the node reconnects/);

    await rig.sim.restart({ refuseConnectionsMs: 600_000 }); // the RDS is down
    const { watcher, lines } = watcherOf(a);
    // Capped exponential backoff in sweeps: retry, skip 1, skip 3 …; never given up.
    expect([...(await sweep(watcher)), ...(await sweep(watcher)), ...(await sweep(watcher)), ...(await sweep(watcher))]).toEqual(["unreachable", "unreachable", "backoff", "unreachable"]);
    expect(await metric(a, 'rds_csi_node_lost_controller_reconnects_total{outcome="failed"}')).toBe("3");
    expect((await mountOf(staging))?.majorMinor).toBe(before.majorMinor); // nothing moved
    expect((await stats(a, staging, staging)).volumeCondition?.message).toMatch(/NVMe\/TCP connection lost/);
    // Logged when the state changed (gone, first failure), not at every attempt.
    expect(lines.filter((l) => l.level === "warn").map((l) => l.message)).toEqual([
      expect.stringMatching(/controller is gone .* reconnecting/),
      expect.stringMatching(/reconnect failed; retrying/),
    ]);

    await rig.sim.restart({ refuseConnectionsMs: 1 }); // back after a 1 ms refusal
    await new Promise((r) => setTimeout(r, 20));
    expect([...(await sweep(watcher)), ...(await sweep(watcher)), ...(await sweep(watcher)), ...(await sweep(watcher))]).toEqual(["backoff", "backoff", "backoff", "recovered"]);

    const after = (await resolve(a))!;
    expect(after.majorMinor).not.toBe(before.majorMinor);
    expect(after.uuid).toBe(before.uuid);
    expect((await mountOf(staging))?.majorMinor).toBe(after.majorMinor);
    expect((await mountOf(target))?.majorMinor).toBe(after.majorMinor);
    expect(await readFile(join(staging, "kept.txt"), "utf8")).toBe("survives the outage");
    expect(await readFile(join(target, "kept.txt"), "utf8")).toBe("survives the outage");
    const metadata = await readStagingMetadata(staging, VOLUME);
    expect(metadata?.device).toEqual({ majorMinor: after.majorMinor, nsid: after.nsid, uuid: after.uuid });
    expect(metadata?.publishedTargets).toEqual([{ path: target, readonly: false, reboundAt: expect.any(String) }]);
    // Connected as the stage did (the rig's StorageClass settings), not with the defaults.
    const controller = (await a.fabric.namespace(rig.nqn))!.controllers[0]!;
    const sysfs = (attribute: string) => readFile(join(a.fabric.sysfsRoot, "class/nvme", controller, attribute), "utf8");
    expect([await sysfs("ctrl_loss_tmo"), await sysfs("reconnect_delay"), await sysfs("kato")]).toEqual(["60\n", "2\n", "5\n"]);
    expect(rig.sim.connections(rig.nqn)).toEqual([a.ctx.host.hostNqn]);

    expect(await metric(a, 'rds_csi_node_lost_controller_reconnects_total{outcome="connected"}')).toBe("1");
    expect(await metric(a, 'rds_csi_node_stale_mount_recoveries_total{kind="filesystem",outcome="recovered"}')).toBe("1");
    expect((await stats(a, staging, staging)).volumeCondition).toEqual({ abnormal: false, message: "volume is healthy" });
    expect((await stats(a, target, staging)).volumeCondition?.message).toMatch(/re-bound onto the volume's new device .* restart the pod/);
    expect(lines.filter((l) => l.level === "info").map((l) => l.message)).toEqual([expect.stringMatching(/reconnected the volume's controller and recovered its mounts/)]);
    expect(await sweep(watcher)).toEqual(["current"]);

    await unpublish(a, target);
    await unstage(a, staging);
    expect(await rig.mountsUnder()).toEqual([]);
    expect(await a.fabric.namespace(rig.nqn)).toBeUndefined();
  }, 90_000);

  it("a retried NodeStage (no watcher) connects again and moves the staging mount onto the namespace that came back", async () => {
    const { a, staging, target, before } = await stagedAndLost();
    expect(await stage(a, staging)).toEqual({});
    const after = (await resolve(a))!;
    expect(after.majorMinor).not.toBe(before.majorMinor);
    expect((await mountOf(staging))?.majorMinor).toBe(after.majorMinor);
    expect((await mountOf(target))?.majorMinor).toBe(after.majorMinor);
    expect(await readFile(join(staging, "kept.txt"), "utf8")).toBe("survives the outage");
    expect((await readStagingMetadata(staging, VOLUME))?.device.majorMinor).toBe(after.majorMinor);
    expect(await stage(a, staging)).toEqual({}); // and now it is simply staged
    await unpublish(a, target);
    await unstage(a, staging);
    expect(await rig.mountsUnder()).toEqual([]);
  }, 90_000);

  it("block: the target is bound to the namespace that came back and reads what was written before", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, "pods", "a", "block", VOLUME);
    await stage(a, staging, rig.blockCapability());
    await publish(a, staging, target, rig.blockCapability());
    const pattern = Buffer.alloc(4096, 0x5a);
    await writeAt(target, pattern);
    await a.fabric.loseControllerForGood(rig.nqn);
    expect((await stats(a, target, staging)).volumeCondition?.message).toMatch(/^NVMe\/TCP connection lost/);

    const { watcher } = watcherOf(a);
    expect(await sweep(watcher)).toEqual(["recovered"]);
    const after = (await resolve(a))!;
    expect(majorMinorOf((await stat(target)).rdev)).toBe(after.majorMinor);
    expect((await readStagingMetadata(staging, VOLUME))?.device.majorMinor).toBe(after.majorMinor);
    expect((await readAt(target, pattern.length)).equals(pattern)).toBe(true);
    expect(await metric(a, 'rds_csi_node_lost_controller_reconnects_total{outcome="connected"}')).toBe("1");
    await unpublish(a, target);
    await unstage(a, staging);
    expect(await rig.mountsUnder()).toEqual([]);
  }, 90_000);

  it("refuses when the namespace that comes back holds another filesystem: nothing mounted from it; unstage still cleans up", async () => {
    const { a, staging, target, before } = await stagedAndLost();
    await editMetadata(staging, (recorded) => (recorded.filesystemUuid = "00000000-0000-4000-8000-000000000000")); // another volume's data answers now
    const { watcher } = watcherOf(a);
    expect(await sweep(watcher)).toEqual(["refused"]);
    expect(await sweep(watcher)).toEqual(["refused"]); // not tried again
    const foreign = (await resolve(a))!; // connected, but never used
    expect((await readMountTable()).filter((m) => m.majorMinor === foreign.majorMinor)).toEqual([]);
    expect((await mountOf(staging))?.majorMinor).toBe(before.majorMinor);
    expect((await mountOf(target))?.majorMinor).toBe(before.majorMinor);
    // The connect itself succeeded; what is refused is mounting the data found there.
    expect(await metric(a, 'rds_csi_node_lost_controller_reconnects_total{outcome="connected"}')).toBe("1");
    expect(await metric(a, 'rds_csi_node_stale_mount_recoveries_total{kind="filesystem",outcome="refused"}')).toBe("1");
    expect((await stats(a, staging, staging)).volumeCondition).toMatchObject({ abnormal: true });

    await unpublish(a, target);
    await unstage(a, staging);
    expect(await rig.mountsUnder()).toEqual([]);
    expect(await a.fabric.namespace(rig.nqn)).toBeUndefined();
  }, 90_000);

  it("reconnects, but moves nothing while the old device still exists; recovers once it is gone", async () => {
    const { a, staging, target, before } = await stagedAndLost();
    // As if the old namespace device were still there: the recorded number, the same namespace UUID.
    const oldEntry = join(a.fabric.sysfsRoot, "class", "block", "nvme90n1");
    await mkdir(oldEntry, { recursive: true });
    await writeFile(join(oldEntry, "dev"), `${before.majorMinor}\n`);
    await writeFile(join(oldEntry, "uuid"), `${before.uuid}\n`);

    const { watcher } = watcherOf(a);
    expect([...(await sweep(watcher)), ...(await sweep(watcher))]).toEqual(["waiting", "waiting"]); // reconnected, then looked at as a renumbered device
    expect(await resolve(a)).toBeDefined();
    expect((await mountOf(staging))?.majorMinor).toBe(before.majorMinor);
    expect((await mountOf(target))?.majorMinor).toBe(before.majorMinor);

    await rm(oldEntry, { recursive: true });
    expect(await sweep(watcher)).toEqual(["recovered"]);
    expect((await mountOf(staging))?.majorMinor).toBe((await resolve(a))?.majorMinor);
    await unpublish(a, target);
    await unstage(a, staging);
    expect(await rig.mountsUnder()).toEqual([]);
  }, 90_000);

  it("refuses to reconnect under another host NQN than the staged one, without connecting", async () => {
    const { a, staging, target } = await stagedAndLost();
    await editMetadata(staging, (recorded) => (recorded.hostNqn = "nqn.2014-08.org.nvmexpress:uuid:11111111-0000-4000-8000-000000000000"));
    const connects = a.connects;
    const { watcher, lines } = watcherOf(a);
    expect([...(await sweep(watcher)), ...(await sweep(watcher))]).toEqual(["refused", "refused"]);
    expect(a.connects).toBe(connects);
    expect(await a.fabric.namespace(rig.nqn)).toBeUndefined();
    expect(lines.filter((l) => l.level === "error")).toHaveLength(1);
    expect(await metric(a, 'rds_csi_node_lost_controller_reconnects_total{outcome="refused"}')).toBe("1");
    expect((await stats(a, target, staging)).volumeCondition?.message).toMatch(/not reconnecting: staged as host nqn\.2014-08\.org\.nvmexpress:uuid:11111111-.*, but this node is now/);
    await unpublish(a, target);
    await unstage(a, staging);
    expect(await rig.mountsUnder()).toEqual([]);
  }, 90_000);

  it("a node that comes back never reconnects a volume whose VolumeAttachment for it is gone, and waits while that cannot be read", async () => {
    const { a, staging, target } = await stagedAndLost();
    const connects = a.connects;
    const answers: AttachmentState[] = ["unknown", "gone"];
    const asked: string[] = [];
    const attachments = {
      stateOf: async (volumeId: string): Promise<AttachmentState> => {
        asked.push(volumeId);
        return answers.shift() ?? "gone";
      },
    };
    const { watcher, lines } = watcherOf(a, { ...a.ctx, attachments });
    expect([...(await sweep(watcher)), ...(await sweep(watcher)), ...(await sweep(watcher))]).toEqual(["unreachable", "refused", "refused"]);
    expect(asked).toEqual([VOLUME, VOLUME]);
    expect(a.connects).toBe(connects);
    expect(await a.fabric.namespace(rig.nqn)).toBeUndefined();
    expect(await metric(a, 'rds_csi_node_lost_controller_reconnects_total{outcome="refused"}')).toBe("1");
    expect(lines.find((l) => l.level === "error")?.message).toBe("stale-mount watcher: refusing to reconnect");
    await unpublish(a, target);
    await unstage(a, staging);
    expect(await rig.mountsUnder()).toEqual([]);
  }, 90_000);
});
