import { describeAsRoot } from "@rds-csi/testkit";
import { useNodeRig } from "./support/node-test-rig.js";

// Real loop devices, mkfs and mounts through the fake fabric: root only.

/**
 * A device-mapper (or md) device stacked on the namespace shows in the disk's `holders/` (block/holder.c
 * bd_link_disk_holder). NodeUnstage must then keep the controller: disconnecting it would pull the disk
 * from under the holder. Both sysfs layouts, since the disk (and its holders/) sits elsewhere in each.
 */
describeAsRoot.each(["native-multipath", "no-multipath"] as const)("NodeUnstage with a holder on the namespace (%s)", (layout) => {
  const rig = useNodeRig({ volume: "pvc-held-1", tempPrefix: "csi-node-held-", diskSize: "32M", layout });

  it("keeps the controller while holders/ lists a device; disconnects once it is empty", async () => {
    const a = await rig.newHost("node-a");
    const staging = await rig.stagingDir("a");
    await rig.stage(a, staging);
    await a.fabric.setHolders(rig.nqn, ["dm-0"]);
    expect(await rig.unstage(a, staging)).toEqual({});
    expect(await rig.mountsUnder()).toEqual([]);
    expect((await a.fabric.namespace(rig.nqn))?.state).toBe("live"); // kept: dm-0 still sits on it

    await a.fabric.setHolders(rig.nqn, []);
    await rig.stage(a, staging);
    expect(await rig.unstage(a, staging)).toEqual({});
    expect(await a.fabric.namespace(rig.nqn)).toBeUndefined();
  }, 60_000);
});
