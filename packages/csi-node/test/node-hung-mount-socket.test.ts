import { mkdir } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { buildPublishContext, csi } from "@rds-csi/core";
import { callUnary, describeAsRoot } from "@rds-csi/testkit";
import { writeHangingTool } from "./support/hang-wrapper.js";
import { kubeletView, mountCount, useNodeProcesses } from "./support/node-process.js";
import { useNodeRig } from "./support/node-test-rig.js";

// The plugin as a process over its socket, with a mount that hangs; real loop devices: root only.
const VOLUME = "pvc-hung-socket-1";
const DEADLINE_EXCEEDED = 4;

/** Polls `check` until it holds, bounded: the plugin reacts to a cancelled call asynchronously. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

describeAsRoot("NodeStage over the socket with a hung mount", () => {
  const plugins = useNodeProcesses(() => rig);
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-hung-socket-", diskSize: "32M" });

  it("the caller's deadline ends the call and the hung mount with it; the plugin stays ready and the retry stages", async () => {
    const host = await plugins.newHost("node-a");
    const volume = kubeletView(host, VOLUME, rig.nqn);
    const mount = await writeHangingTool(rig.dir, "mount", "/bin/mount", { stage: "before" });
    // The plugin's own mount deadline (60 s) is far off: only the caller's deadline can end this call.
    const plugin = await plugins.start(host, { pathPrefix: [mount.dir] });
    const { node, identity } = plugin.clients;
    await mkdir(volume.stagingPath, { recursive: true });
    await mount.hang();

    const request = {
      volumeId: VOLUME,
      publishContext: buildPublishContext({ address: "127.0.0.1", port: 4420, nqn: rig.nqn }),
      stagingTargetPath: volume.stagingPath,
      volumeCapability: { mount: { fsType: "ext4", mountFlags: [], volumeMountGroup: "" }, accessMode: { mode: csi.VolumeCapability_AccessMode_Mode.SINGLE_NODE_WRITER } },
      secrets: {},
      volumeContext: { ctrlLossTmo: "60", reconnectDelay: "2", keepAliveTmo: "5" },
    };
    await expect(callUnary(node, node.nodeStageVolume, request, { deadlineMs: 3_000 })).rejects.toMatchObject({ code: DEADLINE_EXCEEDED });
    // The cancelled call passed its signal down: the hung mount is killed, not left for its own deadline.
    await eventually(async () => (await mount.leftovers()).length === 0, "hung mount killed after the call was cancelled");
    await eventually(async () => ((await host.fabric.namespace(rig.nqn))?.controllers.length ?? 0) === 0, "the cancelled stage's connection undone");
    expect(await mountCount(volume.stagingPath)).toBe(0);
    await expect(callUnary(identity, identity.probe, {})).resolves.toMatchObject({ ready: true });

    await mount.release();
    await volume.stage(plugin); // not ABORTED: the lock went with the cancelled call
    expect(await mountCount(volume.stagingPath)).toBe(1);
    await volume.unstage(plugin);
    expect(await mountCount(volume.stagingPath)).toBe(0);
  }, 90_000);
});
