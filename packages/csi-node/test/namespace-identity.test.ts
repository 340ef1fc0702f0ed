import { describeAsRoot } from "@rds-csi/testkit";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createLogger } from "@rds-csi/core";
import { readStagingMetadata } from "../src/staging/staging-metadata.js";
import { kubeletCsiPluginDir } from "../src/startup-reconciliation.js";
import { StaleMountWatcher } from "../src/stale-mount-watcher.js";
import { useNodeRig } from "./support/node-test-rig.js";

// Real loop devices, mkfs and mounts through the fake fabric: root only.
const VOLUME = "pvc-identity-1";
const quiet = createLogger({ level: "error", component: "test", stream: new PassThrough().resume() });

/**
 * A namespace's UUID is not the volume's identity (docs/design/device-identity.md): a target that makes
 * a new UUID when it restarts (Linux nvmet without a configured device_uuid), or reports only an EUI-64,
 * must still get its volumes remounted after an RDS restart. What refuses a foreign namespace is the
 * filesystem UUID recorded at stage (stale-mount-recovery's refusal tests).
 */
describeAsRoot("namespace identity across an RDS restart (fake fabric)", () => {
  describe("an RDS that makes a new namespace UUID when it restarts", () => {
    const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-ident-uuid-", diskSize: "64M", namespaceIds: "uuid-per-restart" });

    it("after the restart the kernel replaces the namespace (new UUID, new device); the watcher moves staging and target onto it", async () => {
      const { a, staging, target, before } = await rig.publishedWithFile("kept across the RDS restart");
      await rig.sim.restart();
      await a.fabric.targetRestarted();
      await a.fabric.loseConnection(rig.nqn);
      await a.fabric.reconnect(rig.nqn); // the kernel's own reconnect: identifiers changed → new disk
      const after = (await rig.resolve(a))!;
      expect(after.uuid).not.toBe(before.uuid);
      expect(after.majorMinor).not.toBe(before.majorMinor);

      const watcher = new StaleMountWatcher({ ctx: a.ctx, metadataRoots: [kubeletCsiPluginDir(rig.dir)], logger: quiet, intervalMs: 20 });
      expect(await watcher.sweep()).toEqual([{ volumeId: VOLUME, stagingPath: staging, outcome: "recovered" }]);
      expect((await rig.mountOf(staging))?.majorMinor).toBe(after.majorMinor);
      expect((await rig.mountOf(target))?.majorMinor).toBe(after.majorMinor);
      expect(await readFile(join(target, "kept.txt"), "utf8")).toBe("kept across the RDS restart");
      const metadata = await readStagingMetadata(staging, VOLUME);
      expect(metadata?.device).toEqual({ majorMinor: after.majorMinor, nsid: 1, uuid: after.uuid });

      await rig.unpublish(a, target);
      await rig.unstage(a, staging);
      expect(await rig.mountsUnder()).toEqual([]);
    }, 60_000);
  });

  describe("an RDS that reports only an EUI-64 (no uuid file)", () => {
    const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-ident-eui-", diskSize: "64M", namespaceIds: "eui64-only" });

    it("stages, publishes, and recovers after a renumbering reconnect", async () => {
      const { a, staging, target, before } = await rig.publishedWithFile("kept with an EUI-64 only");
      expect(before.uuid).toBeUndefined();
      expect(before.wwid).toMatch(/^eui\.[0-9a-f]{16}$/);
      expect((await readStagingMetadata(staging, VOLUME))?.device.uuid).toBe("");
      await a.fabric.reconnect(rig.nqn, { renumber: true });
      const after = (await rig.resolve(a))!;
      expect(after.majorMinor).not.toBe(before.majorMinor);

      const watcher = new StaleMountWatcher({ ctx: a.ctx, metadataRoots: [kubeletCsiPluginDir(rig.dir)], logger: quiet, intervalMs: 20 });
      expect(await watcher.sweep()).toEqual([{ volumeId: VOLUME, stagingPath: staging, outcome: "recovered" }]);
      expect(await readFile(join(target, "kept.txt"), "utf8")).toBe("kept with an EUI-64 only");

      await rig.unpublish(a, target);
      await rig.unstage(a, staging);
      expect(await rig.mountsUnder()).toEqual([]);
    }, 60_000);
  });
});
