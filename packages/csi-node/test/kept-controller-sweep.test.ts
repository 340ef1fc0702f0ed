import { describeAsRoot } from "@rds-csi/testkit";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmod, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger } from "@rds-csi/core";
import { StaleMountWatcher } from "../src/stale-mount-watcher.js";
import { kubeletCsiPluginDir } from "../src/startup-reconciliation.js";
import { describeOnEachHostKind } from "./support/each-host-kind.js";
import { useNodeRig, type TestHost } from "./support/node-test-rig.js";

// Real loop devices, mkfs and mounts through the fake fabric: root only.
const VOLUME = "pvc-kept-1";
const quiet = createLogger({ level: "error", component: "test", stream: new PassThrough().resume() });
const DISCONNECTS = "rds_csi_node_kept_controller_disconnects_total";

/**
 * NodeUnstage keeps the controller while its device is in use and still answers OK (the volume is
 * unstaged from kubelet's view), so no RPC ever comes back for that controller. The stale-mount
 * watcher's sweep must disconnect it once nothing uses it, by the same rule, and leave it while
 * anything still does.
 */
describeAsRoot("controllers kept at NodeUnstage: a container's copy of the mount", () => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-kept-ns-", diskSize: "32M" });
  const { newHost, stagingDir, stage, unstage, metric } = rig;
  const { sweep, connected } = probes(rig);

  it("a container's copy of the staging mount (EBUSY for O_EXCL) keeps it; once the copy is gone the next sweep disconnects it", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging);
    const device = (await rig.resolve(a))!.devicePath;
    // A container starting copies the host's mounts into its own mount namespace; after the host side is
    // unmounted, the filesystem lives on there and holds the disk exclusively. A lazily unmounted
    // filesystem that a process still uses is in the same kernel state (fs/namespace.c: a detached mount
    // lives until its last user; fs/super.c keeps the device claimed while the super block lives). Not a
    // real new mount namespace: that copies every mount on the machine, other suites' staging mounts
    // too, and their unstages would find their devices busy (see nvme/device-usage.test.ts).
    let user: ChildProcess | undefined = spawn("sleep", ["600"], { cwd: staging, stdio: "ignore" });
    try {
      await once(user, "spawn");
      execFileSync("umount", ["--lazy", staging]);
      expect(await unstage(a, staging)).toEqual({});
      expect(await rig.mountsUnder()).toEqual([]);
      expect(await a.ctx.resolver.deviceNodes.openedExclusively(device)).toBe(true);
      expect(await connected(a)).toBe(true); // kept: the detached filesystem still holds the disk

      await sweep(a);
      expect(await connected(a)).toBe(true); // still in use: stays
      expect(await metric(a, DISCONNECTS)).toBe("0");

      user.kill("SIGKILL");
      if (user.exitCode === null && user.signalCode === null) await once(user, "exit");
      user = undefined;
      // The detached mount goes with its last user; the kernel then releases the disk.
      await until(async () => (await a.ctx.resolver.deviceNodes.openedExclusively(device)) === false);
      expect(await sweep(a)).toEqual([]);
      expect(await connected(a)).toBe(false);
      expect(await metric(a, DISCONNECTS)).toBe("1");
    } finally {
      user?.kill("SIGKILL");
      if (user !== undefined && user.exitCode === null && user.signalCode === null) await once(user, "exit");
    }
  }, 60_000);
});

describeOnEachHostKind("controllers kept at NodeUnstage: a holder", (devices) => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-kept-", diskSize: "32M", devices });
  const { newHost, stagingDir, stage, unstage, metric } = rig;
  const { sweep, connected } = probes(rig);

  it("a holder keeps it across sweeps; a sweep while the volume's lock is held (a NodeStage) skips it; released, it is disconnected", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging);
    await a.fabric.setHolders(rig.nqn, ["dm-0"]);
    expect(await unstage(a, staging)).toEqual({});
    await sweep(a);
    await sweep(a);
    expect(await connected(a)).toBe(true);
    expect(await metric(a, DISCONNECTS)).toBe("0");

    await a.fabric.setHolders(rig.nqn, []);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const stageRunning = a.ctx.locks.run(VOLUME, AbortSignal.timeout(30_000), () => held);
    await sweep(a);
    expect(await connected(a)).toBe(true); // the NodeStage holding the lock owns the controller
    release();
    await stageRunning;

    await sweep(a);
    expect(await connected(a)).toBe(false);
    expect(await metric(a, DISCONNECTS)).toBe("1");
  }, 60_000);

  // Block: a staged block volume has no mount and no exclusive opener until a pod opens it, so only
  // "staged" tells the sweep that the controller is in use.
  it("kept, then staged again (block): the sweep leaves the staged volume's controller alone; its unstage disconnects it", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await stage(a, staging, rig.blockCapability());
    await a.fabric.setHolders(rig.nqn, ["dm-0"]);
    expect(await unstage(a, staging)).toEqual({});
    await a.fabric.setHolders(rig.nqn, []);
    await stage(a, staging, rig.blockCapability());

    await sweep(a);
    await sweep(a);
    expect(await connected(a)).toBe(true);
    expect(await metric(a, DISCONNECTS)).toBe("0");

    expect(await unstage(a, staging)).toEqual({});
    expect(await connected(a)).toBe(false);
  }, 60_000);

  it("a disconnect that leaves the controller behind is not counted, and is tried again at the next sweep", async () => {
    const flag = join(rig.dir, "disconnect-does-nothing");
    const a = await newHost("node-a", {
      nvmeCli: async (shim) => {
        // nvme-cli exiting 0 without deleting anything: only the read-back from sysfs can tell.
        const path = join(rig.dir, "nvme-idle-disconnect");
        await writeFile(path, `#!/bin/sh\nif [ "$1" = disconnect ] && [ -e "${flag}" ]; then exit 0; fi\nexec "${shim}" "$@"\n`);
        await chmod(path, 0o755);
        return path;
      },
    });
    const staging = await stagingDir("a");
    await stage(a, staging);
    await a.fabric.setHolders(rig.nqn, ["dm-0"]);
    expect(await unstage(a, staging)).toEqual({});
    await a.fabric.setHolders(rig.nqn, []);
    await writeFile(flag, "");
    await sweep(a);
    expect(await connected(a)).toBe(true);
    expect(await metric(a, DISCONNECTS)).toBe("0");

    await rm(flag);
    await sweep(a);
    expect(await connected(a)).toBe(false);
    expect(await metric(a, DISCONNECTS)).toBe("1");
  }, 60_000);
});

/** A watcher's sweep on `host`, and whether the volume's controller is still connected there. */
function probes(rig: ReturnType<typeof useNodeRig>) {
  return {
    sweep: (host: TestHost) => new StaleMountWatcher({ ctx: host.ctx, metadataRoots: [kubeletCsiPluginDir(rig.dir)], logger: quiet, intervalMs: 20 }).sweep(),
    connected: async (host: TestHost) => (await host.fabric.namespace(rig.nqn)) !== undefined,
  };
}

/** Polls `check` every 50 ms for up to 10 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
