import { describeAsRoot } from "@rds-csi/testkit";
import { execFileSync } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stagingMetadataPath } from "../src/staging/staging-metadata.js";
import { kubeletView, mountCount, useNodeProcesses, writeCrashWrapper } from "./support/node-process.js";
import { useNodeRig } from "./support/node-test-rig.js";

// The node plugin as a process, killed with SIGKILL mid-stage; real loop devices and mounts: root only.
const VOLUME = "pvc-restart-1";

const which = (program: string): string => execFileSync("sh", ["-c", `command -v ${program}`], { encoding: "utf8" }).trim();

describeAsRoot("a node plugin killed in the middle of NodeStage converges after restart", () => {
  const plugins = useNodeProcesses(() => rig);
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-restart-", diskSize: "32M" });

  it.each([
    { step: "connect", program: "nvme", when: '[ "$1" = connect ]' },
    { step: "mkfs", program: "mkfs.ext4", when: "true" },
    { step: "mount (before the metadata)", program: "mount", when: '[ "$1" = -t ]' },
  ])("killed right after $step: start-up cleans up, the retried stage stages once, data survives another crash", async ({ step, program, when }) => {
    const host = await plugins.newHost("node-a");
    const volume = kubeletView(host, VOLUME, rig.nqn);
    const bin = join(rig.dir, "crash-bin");
    const armed = join(rig.dir, "crash-armed");
    await writeFile(armed, "");
    const wrapper = await writeCrashWrapper(bin, program, program === "nvme" ? host.shim : which(program), armed, when);

    const first = await plugins.start(host, program === "nvme" ? { nvmeCli: wrapper } : { pathPrefix: [bin] });
    await expect(volume.stage(first)).rejects.toBeDefined();
    expect(await first.stop()).toBeNull(); // killed, not exited
    await expect(stat(armed)).rejects.toMatchObject({ code: "ENOENT" }); // the crash did happen at that step
    // What the crash left: a connected controller, and for the last step a mount without metadata.
    await host.fabric.scanned(); // the kernel's namespace scan outlives the killed plugin
    expect((await host.fabric.namespace(rig.nqn))?.controllers).toHaveLength(1);
    expect(await mountCount(volume.stagingPath)).toBe(step.startsWith("mount") ? 1 : 0);
    await expect(stat(stagingMetadataPath(volume.stagingPath, VOLUME))).rejects.toMatchObject({ code: "ENOENT" });

    // The new plugin's start-up reconciliation removes what no metadata claims ...
    const second = await plugins.start(host);
    expect(await mountCount(volume.stagingPath)).toBe(0);
    expect(await host.fabric.namespace(rig.nqn)).toBeUndefined();
    expect(second.output().stdout).toContain(`"disconnected":["${rig.nqn}"]`);
    if (step.startsWith("mount")) expect(second.output().stdout).toContain("unmounted an orphaned mount of this driver");

    // ... and kubelet's retried stage converges: one mount, one controller.
    expect(await volume.stage(second)).toEqual({});
    expect(await mountCount(volume.stagingPath)).toBe(1);
    expect((await host.fabric.namespace(rig.nqn))?.controllers).toHaveLength(1);
    await writeFile(join(volume.stagingPath, "data.txt"), `written after a crash at ${step}`);
    execFileSync("sync");

    // Killed again while staged: the claimed staging is kept and a repeated stage finds the data.
    await second.stop("SIGKILL");
    const third = await plugins.start(host);
    expect(third.output().stdout).toMatch(/"unmounted":0/);
    expect(await mountCount(volume.stagingPath)).toBe(1);
    expect(await volume.stage(third)).toEqual({});
    expect(await mountCount(volume.stagingPath)).toBe(1);
    expect(await readFile(join(volume.stagingPath, "data.txt"), "utf8")).toBe(`written after a crash at ${step}`);

    expect(await volume.unstage(third)).toEqual({});
    expect(await mountCount(volume.stagingPath)).toBe(0);
    expect(await host.fabric.namespace(rig.nqn)).toBeUndefined();
  }, 120_000);
});
