import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmod, mkdir, open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { csi, GiB } from "@rds-csi/core";
import { callUnary } from "../csi-client.js";
import { callAsKubeletWould } from "../system/csi-retry.js";
import { faultScenario } from "../system/fault-ledger.js";
import { mountPointsUnder, SystemRig, type NodeHost } from "../system/system-rig.js";

/**
 * Node-side faults across the running system (controller and node plugin as processes, the fake
 * NVMe/TCP fabric over loop devices): each followed by checks that no data was lost and the node
 * converged. Root only: loop devices and mounts.
 */
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;
const rwo = csi.VolumeCapability.fromPartial({ mount: { fsType: "xfs" }, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } });

/**
 * A writer as an application would be: append a numbered record, fsync, count it as acknowledged. A
 * record whose write or fsync fails is not acknowledged and is tried again (the failure's code is kept).
 */
function startJournalWriter(file: string): { acknowledged: number[]; failures: string[]; stop(): Promise<void> } {
  const acknowledged: number[] = [];
  const failures: string[] = [];
  let stopped = false;
  const loop = (async () => {
    for (let n = 0; !stopped; ) {
      try {
        const handle = await open(file, "a");
        try {
          await handle.write(`${n}\n`);
          await handle.sync();
        } finally {
          await handle.close();
        }
        acknowledged.push(n++);
      } catch (err) {
        failures.push((err as NodeJS.ErrnoException).code ?? String(err));
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    acknowledged,
    failures,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** major:minor of the top mount at `path` (mountinfo: the last entry for a mount point is the one on top). */
async function topMajorMinor(path: string): Promise<string | undefined> {
  const lines = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").map((line) => line.split(" "));
  return lines.filter((fields) => fields[4] === path).at(-1)?.[2];
}

asRoot("node-side faults", () => {
  let rig: SystemRig;

  beforeEach(async () => {
    // I/O on a deleted controller's device fails, as in the kernel (the fabric's FUSE gate).
    rig = await SystemRig.start({ gatedIo: true });
    await rig.startController();
    rig.api.put("CSINode", { metadata: { name: "node-a" }, spec: { drivers: [{ name: "rds.csi.srvlab.io", nodeID: "node-a" }] } });
  }, 60_000);

  afterEach(async () => {
    await rig.stop();
  }, 60_000);

  /** A new volume published to node-a: what NodeStage needs. */
  async function volumeFor(node: string): Promise<{ volumeId: string; publishContext: Record<string, string>; volumeContext: Record<string, string> }> {
    const ctl = rig.controller!.clients.controller;
    const { volume } = await callUnary(ctl, ctl.createVolume, csi.CreateVolumeRequest.fromPartial({ name: `pvc-${randomUUID()}`, capacityRange: { requiredBytes: GiB }, volumeCapabilities: [rwo] }));
    const { publishContext } = await callUnary(ctl, ctl.controllerPublishVolume, csi.ControllerPublishVolumeRequest.fromPartial({ volumeId: volume!.volumeId, nodeId: node, volumeCapability: rwo, volumeContext: volume!.volumeContext }));
    return { volumeId: volume!.volumeId, publishContext, volumeContext: volume!.volumeContext };
  }

  function nodeCalls(host: NodeHost, volume: Awaited<ReturnType<typeof volumeFor>>, pod = "pod-1") {
    const paths = rig.kubeletPaths(host.name, volume.volumeId, pod);
    const base = { volumeId: volume.volumeId, publishContext: volume.publishContext, volumeContext: volume.volumeContext, volumeCapability: rwo, stagingTargetPath: paths.staging, secrets: {} };
    const node = () => host.plugin!.clients.node;
    return {
      paths,
      stage: async () => {
        await mkdir(join(paths.staging, ".."), { recursive: true });
        return callAsKubeletWould(() => callUnary(node(), node().nodeStageVolume, csi.NodeStageVolumeRequest.fromPartial(base), { deadlineMs: 30_000 }));
      },
      publish: () => callAsKubeletWould(() => callUnary(node(), node().nodePublishVolume, csi.NodePublishVolumeRequest.fromPartial({ ...base, targetPath: paths.target }), { deadlineMs: 30_000 })),
      unpublish: () => callAsKubeletWould(() => callUnary(node(), node().nodeUnpublishVolume, { volumeId: volume.volumeId, targetPath: paths.target }, { deadlineMs: 30_000 })),
      unstage: () => callAsKubeletWould(() => callUnary(node(), node().nodeUnstageVolume, { volumeId: volume.volumeId, stagingTargetPath: paths.staging }, { deadlineMs: 30_000 })),
    };
  }

  /** node-a with a new volume staged and published, and a journal writer on it acknowledging for 500 ms. */
  async function writingToPublishedVolume() {
    const host = await rig.startNode("node-a");
    const volume = await volumeFor("node-a");
    const calls = nodeCalls(host, volume);
    await calls.stage();
    await calls.publish();
    const file = join(calls.paths.target, "journal.log");
    const writer = startJournalWriter(file);
    await new Promise((resolve) => setTimeout(resolve, 500));
    return { host, volume, calls, file, writer, before: writer.acknowledged.length };
  }

  /**
   * Once the volume recovered: the writer keeps acknowledging for another 500 ms and is stopped; it wrote
   * before the fault and after the recovery, and the file (read through the pod's path) holds every
   * record it acknowledged.
   */
  async function expectWritesGoOnAndAreKept(file: string, writer: ReturnType<typeof startJournalWriter>, before: number): Promise<void> {
    const afterRecovery = writer.acknowledged.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    await writer.stop();
    expect(writer.acknowledged.length).toBeGreaterThan(afterRecovery);
    expect(before).toBeGreaterThan(0);
    const kept = new Set((await readFile(file, "utf8")).split("\n").filter(Boolean).map(Number));
    expect(writer.acknowledged.filter((n) => !kept.has(n))).toEqual([]);
  }

  it("node plugin killed mid-stage (during mkfs): the restarted plugin's retried stage converges, one mount, one format, data kept", async () => {
    await faultScenario("node-plugin-killed-mid-stage", async (inject) => {
      // mkfs.xfs as the node runs it, but slow: the plugin is killed while it waits, and — as when a
      // container dies — the tool does not go on after its plugin died.
      const wrappers = join(rig.dir, "slow-mkfs");
      await mkdir(wrappers, { recursive: true });
      const real = execFileSync("sh", ["-c", "command -v mkfs.xfs"], { encoding: "utf8" }).trim();
      await writeFile(join(wrappers, "mkfs.xfs"), `#!/bin/sh\nsleep 2\nkill -0 "$PPID" 2>/dev/null || exit 137\nexec ${real} "$@"\n`);
      await chmod(join(wrappers, "mkfs.xfs"), 0o755);
      const host = await rig.startNode("node-a", { PATH: `${wrappers}:${process.env.PATH ?? ""}` });
      const volume = await volumeFor("node-a");
      const calls = nodeCalls(host, volume);
      const staging = calls.stage().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await host.plugin!.stop("SIGKILL");
      inject();
      await staging;
      await rig.startNode("node-a");
      await calls.stage();
      await calls.publish();
      const mounts = await mountPointsUnder(host.kubeletDir);
      expect(mounts.filter((point) => point === calls.paths.staging)).toHaveLength(1);
      expect((await host.fabric.state()).controllers.filter((c) => c.state === "live")).toHaveLength(1);
      await writeFile(join(calls.paths.target, "kept.txt"), "after the crash");
      execFileSync("sync", ["-f", calls.paths.target]);
      // A second plugin restart and a retried stage find the filesystem and never format it again.
      await host.plugin!.stop("SIGKILL");
      await rig.startNode("node-a");
      await calls.stage();
      expect(await readFile(join(calls.paths.target, "kept.txt"), "utf8")).toBe("after the crash");
      await calls.unpublish();
      await calls.unstage();
      expect(await mountPointsUnder(host.kubeletDir)).toEqual([]);
    });
  }, 180_000);

  it("NVMe/TCP connection lost under a mounted filesystem with writes in flight, the kernel reconnects: writes wait, none is lost", async () => {
    await faultScenario("nvme-connection-loss-during-writes", async (inject) => {
      const { host, volume, calls, file, writer, before } = await writingToPublishedVolume();
      const { acknowledged, failures } = writer;
      // The connection drops; the kernel holds the namespace's I/O while it reconnects (within
      // ctrl_loss_tmo), then lets it through: the writer waits, nothing fails, nothing is lost.
      await host.fabric.loseConnection(volume.publishContext.nvme_nqn!);
      const atLoss = acknowledged.length;
      inject();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const duringLoss = acknowledged.length;
      await host.fabric.reconnect(volume.publishContext.nvme_nqn!);
      await expectWritesGoOnAndAreKept(file, writer, before);
      // While the path was gone the writes waited instead of failing, and at most the one in flight finished.
      expect(duringLoss - atLoss).toBeLessThanOrEqual(1);
      expect(failures).toEqual([]);
      await calls.unpublish();
      await calls.unstage();
    });
  }, 180_000);

  it("NVMe/TCP loss with renumbering under a mounted filesystem with writes in flight: every acknowledged write is kept", async () => {
    await faultScenario("nvme-loss-renumbering-during-writes", async (inject) => {
      const { host, volume, calls, file, writer, before } = await writingToPublishedVolume();
      const { failures } = writer;
      const ns = await host.fabric.namespace(volume.publishContext.nvme_nqn!);
      await host.fabric.reconnect(volume.publishContext.nvme_nqn!, { renumber: true });
      inject();
      const moved = async () => (await host.fabric.namespace(volume.publishContext.nvme_nqn!))?.disk !== ns?.disk;
      for (let i = 0; i < 300 && !(await moved()); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      // Wait until the watcher re-bound the pod's target, then keep writing a little longer.
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const target = await topMajorMinor(calls.paths.target);
        if (target === (await topMajorMinor(calls.paths.staging)) && target !== `${ns?.major}:${ns?.minor}`) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await expectWritesGoOnAndAreKept(file, writer, before);
      // Writes failed (EIO) while the pod's path still showed the dead device, and went on once it was re-bound.
      expect(failures.length).toBeGreaterThan(0);
      // Nothing was written under the mount point in between: NodeUnpublish removes the target.
      await calls.unpublish();
      await calls.unstage();
      expect(await mountPointsUnder(host.kubeletDir)).toEqual([]);
    });
  }, 180_000);
});
