import { describeAsRoot } from "@rds-csi/testkit";
import { createHash } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { kubeletView, mountCount, useNodeProcesses } from "./support/node-process.js";
import { useNodeRig } from "./support/node-test-rig.js";

// The node plugin as a process with a blkid that fails; real loop devices: root only.
const VOLUME = "pvc-blkid-1";
const INTERNAL = 13;

describeAsRoot("NodeStage when blkid fails", () => {
  const plugins = useNodeProcesses(() => rig);
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-blkid-", diskSize: "32M" });

  /** A blkid that cannot read the device, as on a path with I/O errors: exit 4 ("usage or other error"). */
  const failingBlkid = async (): Promise<string> => {
    const bin = join(rig.dir, "blkid-bin");
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, "blkid"), '#!/bin/sh\nfor last; do :; done\necho "blkid: error: $last: Input/output error" >&2\nexit 4\n');
    await chmod(join(bin, "blkid"), 0o755);
    return bin;
  };
  const digest = async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex");

  it.each([
    { connection: "made by this stage", preconnected: false },
    { connection: "already there", preconnected: true },
  ])("fails with a clear error, never formats, leaves nothing mounted; the connection $connection is undone only if it made it", async ({ preconnected }) => {
    const host = await plugins.newHost("node-a");
    const volume = kubeletView(host, VOLUME, rig.nqn);
    // Something the stage must not destroy: bytes where mkfs would write its superblock.
    await writeFile(rig.backingFile, Buffer.alloc(4096, 0x5a), { flag: "r+" });
    const before = await digest(rig.backingFile);
    const plugin = await plugins.start(host, { pathPrefix: [await failingBlkid()] });
    // After start-up, whose reconciliation would disconnect a connection no metadata claims.
    if (preconnected) await host.fabric.connect({ nqn: rig.nqn, traddr: "127.0.0.1", trsvcid: "4420" });

    await expect(volume.stage(plugin)).rejects.toMatchObject({ code: INTERNAL, details: expect.stringMatching(/blkid .* failed \(exit 4\): .*Input\/output error/) });
    await expect(volume.stage(plugin)).rejects.toMatchObject({ code: INTERNAL }); // kubelet's retry: the same, still nothing done

    expect(await digest(rig.backingFile)).toBe(before);
    expect(await mountCount(volume.stagingPath)).toBe(0);
    expect((await host.fabric.namespace(rig.nqn))?.controllers.length ?? 0).toBe(preconnected ? 1 : 0);
  }, 90_000);
});
