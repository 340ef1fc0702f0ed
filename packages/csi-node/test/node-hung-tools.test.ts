import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { AbortedError, buildPublishContext, FailedPreconditionError, UnavailableError } from "@rds-csi/core";
import { loopsLeftOver, describeAsRoot } from "@rds-csi/testkit";
import { readMountTable } from "./support/mount-table.js";
import { readStagingMetadata } from "../src/staging/staging-metadata.js";
import { untilHanging, writeHangingTool, type HangingTool } from "./support/hang-wrapper.js";
import { useNodeRig, type TestHost } from "./support/node-test-rig.js";

// A tool stuck on a dead device must end in an error, not a stuck RPC: real loop devices, root only.
const VOLUME = "pvc-hung-1";
const OTHER = "pvc-hung-2";
/** Short enough that a hung tool costs a test about a second; long enough for a loop-device mount. */
const TOOL_TIMEOUT_MS = 1_000;

describeAsRoot("NodeStage / NodeUnstage with a hung tool", () => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-hung-", diskSize: "32M" });
  const { call, newHost, stagingDir, stage, unstage, fsCapability, volumeContext } = rig;
  const tools: HangingTool[] = [];

  /** A wrapper of a real program on PATH (or of the nvme shim) that hangs once switched on. */
  const hangingTool = async (program: string, real: string, options: Parameters<typeof writeHangingTool>[3]) => {
    const tool = await writeHangingTool(rig.dir, program, real, options);
    tools.push(tool);
    return tool;
  };
  const hostWith = (tool: HangingTool, toolTimeoutMs = TOOL_TIMEOUT_MS) => newHost("node-a", { pathPrefix: [tool.dir], toolTimeoutMs });
  const controllers = async (host: TestHost, nqn = rig.nqn) => (await host.fabric.namespace(nqn))?.controllers.length ?? 0;
  const mountsAt = async (path: string) => (await readMountTable()).filter((m) => m.mountPoint === path).length;
  /** The lock lets go of an aborted call at once; what the call itself still runs is seen here. */
  const recordUnmounts = (host: TestHost): Promise<void>[] => {
    const runs: Promise<void>[] = [];
    const unmount = host.ctx.mounter.unmount.bind(host.ctx.mounter);
    host.ctx.mounter.unmount = (...args) => {
      const run = unmount(...args);
      runs.push(run);
      return run;
    };
    return runs;
  };
  /** The failed unstage changed nothing: mount, controller and metadata are as the stage left them. */
  const expectStillStaged = async (host: TestHost, staging: string) => {
    expect(await mountsAt(staging)).toBe(1);
    expect(await controllers(host)).toBe(1);
    expect(await readStagingMetadata(staging, VOLUME)).toBeDefined();
  };
  const expectUnstaged = async (host: TestHost, staging: string) => {
    expect(await mountsAt(staging)).toBe(0);
    expect(await controllers(host)).toBe(0);
    expect(await readStagingMetadata(staging, VOLUME)).toBeUndefined();
  };
  /**
   * Starts an RPC, and gives up on it as kubelet does once `tool` hangs: the RPC and the unmount it was
   * running both end with the caller's reason, not FAILED_PRECONDITION after every attempt ran out.
   */
  const giveUpWhileHanging = async (tool: HangingTool, unmounts: Promise<void>[], rpc: string, start: (signal: AbortSignal) => Promise<unknown>) => {
    const kubelet = new AbortController();
    const reason = new DOMException(`kubelet gave up on ${rpc}`, "AbortError");
    const failed = start(kubelet.signal);
    await untilHanging(tool);
    kubelet.abort(reason);
    await expect(failed).rejects.toBe(reason);
    await expect(unmounts[0]).rejects.toBe(reason);
  };
  const digest = async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex");

  // Before the rig's clean-up: a hang left behind would keep a device or mount busy. Every test also
  // asserts no leftover itself; this only stops a failed test from wedging the next one.
  afterEach(async () => {
    for (const tool of tools.splice(0)) {
      await tool.release();
      for (const pid of await tool.leftovers()) process.kill(pid, "SIGKILL");
    }
  });

  it.each([
    { connection: "made by this stage", preconnected: false },
    { connection: "already there", preconnected: true },
  ])("mount hangs: UNAVAILABLE naming mount and its deadline, nothing mounted, no process left, lock released; the connection $connection is undone only if it made it; the retry stages", async ({ preconnected }) => {
    const mount = await hangingTool("mount", "/bin/mount", { stage: "before" });
    const a = await hostWith(mount);
    const staging = await stagingDir("a");
    if (preconnected) await a.fabric.connect({ nqn: rig.nqn, traddr: "127.0.0.1", trsvcid: "4420" });
    await mount.hang();

    const failed = stage(a, staging);
    await expect(failed).rejects.toBeInstanceOf(UnavailableError);
    await expect(failed).rejects.toThrow(`mount did not exit within ${TOOL_TIMEOUT_MS} ms and was killed`);
    expect(await mount.leftovers()).toEqual([]);
    expect(await mountsAt(staging)).toBe(0);
    expect(await readStagingMetadata(staging, VOLUME)).toBeUndefined();
    expect(await controllers(a)).toBe(preconnected ? 1 : 0);

    await mount.release();
    await stage(a, staging); // not ABORTED: the failed call let go of the volume
    expect(await mountsAt(staging)).toBe(1);
    await unstage(a, staging);
    expect(await controllers(a)).toBe(0);
  }, 60_000);

  it("mount mounts, then hangs: the stage fails and takes its mount and connection back (no disconnect under a mount)", async () => {
    const mount = await hangingTool("mount", "/bin/mount", { stage: "after" });
    const a = await hostWith(mount);
    const staging = await stagingDir("a");
    await mount.hang();

    await expect(stage(a, staging)).rejects.toThrow(`mount did not exit within ${TOOL_TIMEOUT_MS} ms and was killed`);
    expect(await mount.leftovers()).toEqual([]);
    expect(await mountsAt(staging)).toBe(0);
    expect(await controllers(a)).toBe(0);

    await mount.release();
    await stage(a, staging);
    expect(await mountsAt(staging)).toBe(1);
    await unstage(a, staging);
  }, 60_000);

  it("blkid hangs: the stage fails naming blkid, the device is never formatted, nothing mounted or left running", async () => {
    const blkid = await hangingTool("blkid", "/sbin/blkid", { stage: "before" });
    const a = await hostWith(blkid);
    const staging = await stagingDir("a");
    await writeFile(rig.backingFile, Buffer.alloc(4096, 0x5a), { flag: "r+" });
    const before = await digest(rig.backingFile);
    await blkid.hang();

    const failed = stage(a, staging);
    await expect(failed).rejects.toBeInstanceOf(UnavailableError);
    await expect(failed).rejects.toThrow(`blkid did not exit within ${TOOL_TIMEOUT_MS} ms and was killed`);
    expect(await blkid.leftovers()).toEqual([]);
    expect(await digest(rig.backingFile)).toBe(before);
    expect(await mountsAt(staging)).toBe(0);
    expect(await controllers(a)).toBe(0);
  }, 60_000);

  it("nvme connect hangs: the stage fails within the connect deadline, no nvme process left, no controller; the retry stages", async () => {
    let nvme: HangingTool | undefined;
    const a = await newHost("node-a", {
      toolTimeoutMs: TOOL_TIMEOUT_MS,
      nvmeCli: async (shim) => {
        nvme = await hangingTool("nvme", shim, { stage: "before", when: '[ "$1" = connect ]' });
        return nvme.path;
      },
    });
    const staging = await stagingDir("a");
    await nvme!.hang();

    const failed = stage(a, staging);
    await expect(failed).rejects.toBeInstanceOf(UnavailableError);
    await expect(failed).rejects.toThrow(/nvme did not exit within 1000 ms and was killed/);
    expect(await nvme!.leftovers()).toEqual([]);
    expect(await controllers(a)).toBe(0);
    expect(await mountsAt(staging)).toBe(0);

    await nvme!.release();
    await stage(a, staging);
    await unstage(a, staging);
    expect(await controllers(a)).toBe(0);
  }, 60_000);

  it("umount hangs during NodeUnstage: bounded FAILED_PRECONDITION, the controller stays while the mount may be live; a later unstage converges", async () => {
    const umount = await hangingTool("umount", "/bin/umount", { stage: "before" });
    const a = await hostWith(umount);
    const staging = await stagingDir("a");
    await stage(a, staging);
    await umount.hang();

    const failed = unstage(a, staging);
    await expect(failed).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(failed).rejects.toThrow(`umount did not exit within ${TOOL_TIMEOUT_MS} ms and was killed`);
    expect(await umount.leftovers()).toEqual([]);
    await expectStillStaged(a, staging);

    await umount.release();
    await unstage(a, staging);
    await expectUnstaged(a, staging);
  }, 60_000);

  it("umount hangs and the caller gives up: the unstage ends with the caller's reason, umount is killed, mount, metadata and controller kept; a later unstage converges", async () => {
    const umount = await hangingTool("umount", "/bin/umount", { stage: "before" });
    // A deadline (3 attempts of it) that only a caller ignoring its cancellation would wait out.
    const a = await hostWith(umount, 10_000);
    const staging = await stagingDir("a");
    await stage(a, staging);
    const unmounts = recordUnmounts(a);
    await umount.hang();

    await giveUpWhileHanging(umount, unmounts, "NodeUnstageVolume", (signal) => a.node.nodeUnstageVolume({ volumeId: VOLUME, stagingTargetPath: staging }, { ...call(), signal }));
    expect(unmounts).toHaveLength(1);
    expect(await umount.leftovers()).toEqual([]);
    await expectStillStaged(a, staging);

    await umount.release();
    await unstage(a, staging);
    await expectUnstaged(a, staging);
  }, 60_000);

  it("umount hangs and the caller gives up on NodeUnpublish: the call ends with the caller's reason, umount is killed, the pod's target stays; a later unpublish converges", async () => {
    const umount = await hangingTool("umount", "/bin/umount", { stage: "before" });
    const a = await hostWith(umount, 10_000);
    const staging = await stagingDir("a");
    const target = `${rig.dir}/pods/a/mount`;
    await stage(a, staging);
    await rig.publish(a, staging, target);
    const unmounts = recordUnmounts(a);
    await umount.hang();

    await giveUpWhileHanging(umount, unmounts, "NodeUnpublishVolume", (signal) => a.node.nodeUnpublishVolume({ volumeId: VOLUME, targetPath: target }, { ...call(), signal }));
    expect(await umount.leftovers()).toEqual([]);
    expect(await mountsAt(target)).toBe(1);

    await umount.release();
    await rig.unpublish(a, target);
    expect(await mountsAt(target)).toBe(0);
    await unstage(a, staging);
  }, 60_000);

  it("while a stage hangs on mount: a second NodeStage of that volume is ABORTED at once, stats of another volume and capabilities answer; the stage ends once mount does", async () => {
    const otherNqn = `nqn.2000-02.com.mikrotik:${OTHER}`;
    await rig.routerOs(
      `/disk add type=file slot="${OTHER}" file-path="/raid10/vols/${OTHER}.img" file-size=32M nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${otherNqn}"`,
    );
    const otherFile = rig.sim.disks().find((disk) => disk.slot === OTHER)!.backingFile;
    const mount = await hangingTool("mount", "/bin/mount", { stage: "before" });
    // A deadline no test step comes near: the hang ends only when the test wakes it.
    const a = await hostWith(mount, 60_000);
    const staging = await stagingDir("a");
    const otherStaging = await stagingDir("other");
    await a.node.nodeStageVolume(
      {
        volumeId: OTHER,
        publishContext: buildPublishContext({ address: "127.0.0.1", port: 4420, nqn: otherNqn }),
        stagingTargetPath: otherStaging,
        volumeCapability: fsCapability(),
        secrets: {},
        volumeContext,
      },
      call(),
    );

    await mount.hang();
    let settled = false;
    const hung = stage(a, staging).finally(() => {
      settled = true;
    });
    await untilHanging(mount);

    await expect(stage(a, staging)).rejects.toBeInstanceOf(AbortedError);
    const stats = await a.node.nodeGetVolumeStats({ volumeId: OTHER, volumePath: otherStaging, stagingTargetPath: otherStaging }, call());
    expect(stats.volumeCondition?.abnormal).toBe(false);
    expect(stats.usage.length).toBeGreaterThan(0);
    expect((await a.node.nodeGetCapabilities()).capabilities.length).toBeGreaterThan(0);
    expect(settled).toBe(false);

    await mount.release();
    await mount.wake();
    await hung;
    expect(await mountsAt(staging)).toBe(1);
    expect(await mount.leftovers()).toEqual([]);

    await unstage(a, staging);
    await a.node.nodeUnstageVolume({ volumeId: OTHER, stagingTargetPath: otherStaging }, call());
    expect(await controllers(a, otherNqn)).toBe(0);
    expect(await loopsLeftOver(otherFile)).toEqual([]);
  }, 90_000);
});
