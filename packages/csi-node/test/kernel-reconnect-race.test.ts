import { describeAsRoot } from "@rds-csi/testkit";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger } from "@rds-csi/core";
import { readStagingMetadata } from "../src/staging/staging-metadata.js";
import { kubeletCsiPluginDir } from "../src/startup-reconciliation.js";
import { StaleMountWatcher } from "../src/stale-mount-watcher.js";
import { useNodeRig } from "./support/node-test-rig.js";

// Real loop devices over a FUSE gate, mkfs and mounts through the fake fabric: root only.
const VOLUME = "pvc-race-1";
const quiet = createLogger({ level: "error", component: "test", stream: new PassThrough().resume() });

/** Writes and fsyncs a file through the filesystem (a pod's write); resolves with dd's exit code and stderr. */
const writeSynced = (path: string, text: string): Promise<{ code: number; stderr: string }> =>
  new Promise((resolve) => {
    const child = execFile("dd", [`of=${path}`, "conv=fsync", "status=none"], { timeout: 30_000 }, (err, _stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stderr }),
    );
    child.stdin!.end(text);
  });

const settledWithin = (promise: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, ms, false))]);

/**
 * The kernel reconnects on its own every reconnect_delay and deletes the controller after ctrl_loss_tmo
 * (the fabric's kernel timers, 1 s = 50 ms here; the stage asked for ctrl_loss_tmo 60, reconnect_delay 2),
 * while the node's stale-mount watcher runs beside it: the watcher must leave a reconnecting controller to
 * the kernel and take over only once the kernel gave up.
 */
describeAsRoot("the kernel's reconnect against the node's (fake fabric with kernel timers and gated I/O)", () => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-race-", diskSize: "64M", kernel: { gatedIo: true, kernelTimers: { msPerSecond: 50 } } });

  /**
   * A published volume with a synced file, the watcher running, then the RDS restarting and refusing
   * connections for `refuseMs` while the host notices the loss, and a pod writing into the outage.
   */
  const outage = async (refuseMs: number) => {
    const { a, staging, target, before } = await rig.publishedWithFile("before the outage");
    const watcher = new StaleMountWatcher({ ctx: a.ctx, metadataRoots: [kubeletCsiPluginDir(rig.dir)], logger: quiet, intervalMs: 20 });
    watcher.start();
    await rig.sim.restart({ refuseConnectionsMs: refuseMs });
    await a.fabric.loseConnection(rig.nqn);
    const write = writeSynced(join(target, "during.txt"), "written into the outage");
    return { a, staging, target, before, watcher, write };
  };

  it("the kernel gets the path back before ctrl_loss_tmo: a pod's held write completes, the node does not connect", async () => {
    const { a, staging, target, before, watcher, write } = await outage(1_000); // shorter than ctrl_loss_tmo (3 s here)
    try {
      expect(await settledWithin(write, 500)).toBe(false); // held by the kernel, not failed
      await a.fabric.reconnectSettled(rig.nqn);
      expect(await write).toEqual({ code: 0, stderr: "" });
      expect(await readFile(join(target, "during.txt"), "utf8")).toBe("written into the outage");
      expect(a.connects).toBe(1); // the stage's connect only
      expect((await rig.resolve(a))?.majorMinor).toBe(before.majorMinor);
      expect((await rig.mountOf(staging))?.majorMinor).toBe(before.majorMinor);
    } finally {
      await watcher.stop();
    }
  }, 60_000);

  it("ctrl_loss_tmo expires first: held I/O fails, the node reconnects once the RDS answers and moves the mounts", async () => {
    const { a, staging, target, before, watcher, write } = await outage(4_500); // longer than ctrl_loss_tmo (3 s here)
    try {
      expect(a.connects).toBe(1); // nothing while the kernel is still reconnecting
      await a.fabric.reconnectSettled(rig.nqn); // the kernel gave up: controller and device deleted
      const failed = await write;
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toMatch(/Input\/output error/);

      // The watcher reconnects (after the RDS answers again) and moves staging and target; the metadata
      // is rewritten last.
      const deadline = Date.now() + 20_000;
      while ((await readStagingMetadata(staging, VOLUME))?.device.majorMinor === before.majorMinor && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const after = (await rig.resolve(a))!;
      expect(after.majorMinor).not.toBe(before.majorMinor);
      expect((await rig.mountOf(staging))?.majorMinor).toBe(after.majorMinor);
      expect(await readFile(join(target, "kept.txt"), "utf8")).toBe("before the outage");
      // Refused while the RDS was still down, then one reconnect that stuck.
      expect(await rig.metric(a, 'rds_csi_node_lost_controller_reconnects_total{outcome="connected"}')).toBe("1");
    } finally {
      await watcher.stop();
    }
    await rig.unpublish(a, target);
    await rig.unstage(a, staging);
    expect(await rig.mountsUnder()).toEqual([]);
  }, 60_000);
});
