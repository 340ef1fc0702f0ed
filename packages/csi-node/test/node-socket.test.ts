import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { callAsKubeletWould, describeAsRoot } from "@rds-csi/testkit";
import { readMountTable } from "./support/mount-table.js";
import { kubeletView, mountCount, useNodeProcesses, type ProcessHost } from "./support/node-process.js";
import { useNodeRig } from "./support/node-test-rig.js";

// The node plugin as a process over its unix socket, real loop devices and mounts: root only.
const VOLUME = "pvc-socket-1";
const PREFIX = "nqn.2000-02.com.mikrotik:";

/** gRPC status codes (grpc's doc/statuscodes.md); csi-node does not depend on grpc-js itself. */
const status = { OK: 0, ABORTED: 10 } as const;

/** OK, or the status code of the gRPC error. */
const outcome = (call: Promise<unknown>): Promise<number> => call.then(() => status.OK, (err: { code?: number }) => err.code ?? -1);

describeAsRoot("the node plugin over its socket", () => {
  const plugins = useNodeProcesses(() => rig);
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-socket-", diskSize: "32M" });

  const addDisk = (slot: string) =>
    rig.routerOs(`/disk add type=file slot="${slot}" file-path="/raid10/vols/${slot}.img" file-size=32M nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${PREFIX}${slot}"`);

  it("stage → publish → write → unpublish → unstage, each call repeated, then the data is there on the next stage", async () => {
    const host = await plugins.newHost("node-a");
    const plugin = await plugins.start(host);
    const volume = kubeletView(host, VOLUME, rig.nqn);

    for (let round = 0; round < 2; round++) expect(await volume.stage(plugin)).toEqual({});
    for (let round = 0; round < 2; round++) expect(await volume.publish(plugin, "pod-1")).toEqual({});
    expect(await mountCount(volume.stagingPath)).toBe(1);
    expect(await mountCount(volume.targetPath("pod-1"))).toBe(1);
    await writeFile(join(volume.targetPath("pod-1"), "data.txt"), "over the socket");
    for (let round = 0; round < 2; round++) expect(await volume.unpublish(plugin, "pod-1")).toEqual({});
    for (let round = 0; round < 2; round++) expect(await volume.unstage(plugin)).toEqual({});
    expect(await rig.mountsUnder()).toEqual([]);
    expect(await host.fabric.namespace(rig.nqn)).toBeUndefined();

    await volume.stage(plugin);
    expect(await readFile(join(volume.stagingPath, "data.txt"), "utf8")).toBe("over the socket");
    await volume.unstage(plugin);
  }, 90_000);

  it("concurrent NodeStage of one volume: each OK or ABORTED, one mount, one controller; converges on retry", async () => {
    const host = await plugins.newHost("node-a");
    const plugin = await plugins.start(host);
    const volume = kubeletView(host, VOLUME, rig.nqn);

    const outcomes = await Promise.all(Array.from({ length: 6 }, () => outcome(volume.stage(plugin))));
    expect(outcomes.every((code) => code === status.OK || code === status.ABORTED)).toBe(true);
    expect(outcomes).toContain(status.OK);
    expect(await outcome(volume.stage(plugin))).toBe(status.OK); // kubelet's retry of an ABORTED one
    expect(await mountCount(volume.stagingPath)).toBe(1);
    expect((await host.fabric.namespace(rig.nqn))?.controllers).toHaveLength(1);

    // Concurrent unstage of the same volume, likewise.
    const unstaged = await Promise.all(Array.from({ length: 4 }, () => outcome(volume.unstage(plugin))));
    expect(unstaged.every((code) => code === status.OK || code === status.ABORTED)).toBe(true);
    expect(await outcome(volume.unstage(plugin))).toBe(status.OK);
    expect(await mountCount(volume.stagingPath)).toBe(0);
    expect(await host.fabric.namespace(rig.nqn)).toBeUndefined();
  }, 90_000);

  it.each([
    { fault: "a reconnect that renumbers the device", inflict: (host: ProcessHost) => host.fabric.reconnect(rig.nqn, { renumber: true }) },
    { fault: "the kernel giving up on the controller (ctrl_loss_tmo)", inflict: (host: ProcessHost) => host.fabric.loseControllerForGood(rig.nqn) },
  ])("the running plugin recovers by itself after $fault: staging remounted, the pod's target re-bound, data intact", async ({ inflict }) => {
    const host = await plugins.newHost("node-a");
    const plugin = await plugins.start(host, { env: { STALE_MOUNT_CHECK_INTERVAL: "200ms" } });
    const volume = kubeletView(host, VOLUME, rig.nqn);
    await volume.stage(plugin);
    await volume.publish(plugin, "pod-1");
    await writeFile(join(volume.targetPath("pod-1"), "data.txt"), "kept");
    execFileSync("sync", ["-f", volume.targetPath("pod-1")]);
    const before = (await readMountTable()).find((m) => m.mountPoint === volume.stagingPath)!.majorMinor;

    await inflict(host);
    // No RPC from here on: only the plugin's own watcher can move the mounts.
    const onNewDevice = async (path: string) => {
      const now = (await readMountTable()).filter((m) => m.mountPoint === path).at(-1)?.majorMinor;
      return now !== undefined && now !== before;
    };
    for (let i = 0; i < 300 && !((await onNewDevice(volume.stagingPath)) && (await onNewDevice(volume.targetPath("pod-1")))); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await onNewDevice(volume.stagingPath)).toBe(true);
    expect(await onNewDevice(volume.targetPath("pod-1"))).toBe(true);
    expect(await readFile(join(volume.targetPath("pod-1"), "data.txt"), "utf8")).toBe("kept");

    // The watcher may still hold the volume's lock while it writes the recovered metadata: kubelet
    // retries an ABORTED call, so the test does too.
    await callAsKubeletWould(() => volume.unpublish(plugin, "pod-1"));
    await callAsKubeletWould(() => volume.unstage(plugin));
    expect(await rig.mountsUnder()).toEqual([]);
  }, 90_000);

  it("concurrent stages and unstages of different volumes all succeed", async () => {
    const others = ["pvc-socket-2", "pvc-socket-3", "pvc-socket-4"];
    for (const slot of others) await addDisk(slot);
    const host = await plugins.newHost("node-a");
    const plugin = await plugins.start(host);
    const volumes = [kubeletView(host, VOLUME, rig.nqn), ...others.map((slot) => kubeletView(host, slot, `${PREFIX}${slot}`))];

    expect(await Promise.all(volumes.map((volume) => volume.stage(plugin)))).toEqual(volumes.map(() => ({})));
    expect(await Promise.all(volumes.map((volume) => volume.publish(plugin, "pod-1")))).toEqual(volumes.map(() => ({})));
    for (const volume of volumes) {
      expect(await mountCount(volume.stagingPath)).toBe(1);
      expect(await mountCount(volume.targetPath("pod-1"))).toBe(1);
    }
    // Each on its own device: no two volumes ended up on one namespace.
    const staged = (await readMountTable()).filter((m) => volumes.some((volume) => volume.stagingPath === m.mountPoint));
    expect(new Set(staged.map((m) => m.majorMinor)).size).toBe(volumes.length);
    const state = await host.fabric.state();
    expect(state.subsystems).toHaveLength(volumes.length);

    await Promise.all(volumes.map((volume) => volume.unpublish(plugin, "pod-1")));
    expect(await Promise.all(volumes.map((volume) => volume.unstage(plugin)))).toEqual(volumes.map(() => ({})));
    expect(await rig.mountsUnder()).toEqual([]);
    expect((await host.fabric.state()).controllers).toEqual([]);
  }, 120_000);
});
