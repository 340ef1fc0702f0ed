import { describeAsRoot } from "@rds-csi/testkit";
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { csi, FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from "@rds-csi/core";
import { readMountTable } from "./support/mount-table.js";
import { kubeletCsiPluginDir } from "../src/startup-reconciliation.js";
import { useNodeRig, type TestHost } from "./support/node-test-rig.js";

// Real loop devices, mkfs and mounts through the fake fabric: root only.
const VOLUME = "pvc-expand-1";
const NQN = `nqn.2000-02.com.mikrotik:${VOLUME}`;

describeAsRoot("NodeExpandVolume and NodeGetVolumeStats over the fake fabric", () => {
  const rig = useNodeRig({ volume: VOLUME, tempPrefix: "csi-node-expand-", diskSize: "64M" });
  const { call, newHost, fsCapability, blockCapability, stagingDir, stage, unstage, publish, unpublish, publishContext, volumeContext, stats } = rig;

  const expand = (host: TestHost, volumePath: string, stagingPath: string, requiredBytes: bigint, capability = fsCapability()) =>
    host.node.nodeExpandVolume({ volumeId: VOLUME, volumePath, stagingTargetPath: stagingPath, capacityRange: { requiredBytes, limitBytes: 0n }, volumeCapability: capability, secrets: {} }, call());
  const bytesOf = (r: csi.NodeGetVolumeStatsResponse) => r.usage.find((u) => u.unit === csi.VolumeUsage_Unit.BYTES)!;
  const MiB = 1024n * 1024n;

  /** Online ext4 grow needs CAP_SYS_RESOURCE (resize2fs: "Permission denied" without it); some sandboxes drop it. */
  const hasSysResource = (): boolean => {
    const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(execFileSync("cat", ["/proc/self/status"], { encoding: "utf8" }))?.[1];
    return eff !== undefined && (BigInt(`0x${eff}`) & (1n << 24n)) !== 0n;
  };

  // xfs needs at least 300 MB to be made; ext4 grows online only with CAP_SYS_RESOURCE.
  it.each([
    { fsType: "xfs", from: 320n, to: 512n },
    { fsType: "ext4", from: 64n, to: 128n },
  ])("$fsType: stats, online expand to the real new size (df shows it), conditions on loss and renumbering", async ({ fsType, from, to }) => {
    const canGrow = fsType === "xfs" || hasSysResource();
    if (from !== 64n) await rig.routerOs(`/disk set [find slot="${VOLUME}"] file-size=${from}M`);
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, "pods", "a", "mount");
    await stage(a, staging, fsCapability(fsType));
    await publish(a, staging, target, fsCapability(fsType));
    await writeFile(join(target, "kept.txt"), "survives the grow");

    const before = await stats(a, target, staging);
    expect(before.volumeCondition).toEqual({ abnormal: false, message: "volume is healthy" });
    const bytes = bytesOf(before);
    expect(bytes.total).toBeGreaterThan(((from * 6n) / 10n) * MiB);
    expect(bytes.total).toBeLessThanOrEqual(from * MiB);
    expect(bytes.used + bytes.available).toBeLessThanOrEqual(bytes.total);
    const inodes = before.usage.find((u) => u.unit === csi.VolumeUsage_Unit.INODES)!;
    expect(inodes.total).toBeGreaterThan(0n);
    expect(inodes.used).toBeGreaterThan(0n);
    expect((await stats(a, staging, staging)).volumeCondition?.abnormal).toBe(false);

    // not a path of this volume / not staged here → NOT_FOUND
    await expect(stats(a, join(rig.dir, "pods"), staging)).rejects.toThrow(NotFoundError);
    await expect(a.node.nodeGetVolumeStats({ volumeId: "pvc-other", volumePath: target, stagingTargetPath: staging }, call())).rejects.toThrow(NotFoundError);
    await expect(expand(a, target, join(rig.dir, "nowhere", "globalmount"), to * MiB)).rejects.toThrow(NotFoundError);

    // The RDS grows the disk; the node rescans through nvme-cli (the shim), no resizeNamespace.
    await rig.routerOs(`/disk set [find slot="${VOLUME}"] file-size=${to}M`);
    if (canGrow) {
      expect(await expand(a, target, staging, to * MiB, fsCapability(fsType))).toEqual({ capacityBytes: to * MiB });
      expect(await expand(a, target, staging, to * MiB, fsCapability(fsType))).toEqual({ capacityBytes: to * MiB }); // idempotent
      const grown = bytesOf(await stats(a, target, staging));
      expect(grown.total).toBeGreaterThan(bytes.total + ((to - from) * MiB * 8n) / 10n);
      const df = execFileSync("df", ["-B1", "--output=size", target], { encoding: "utf8" }).trim().split("\n").at(-1)!.trim();
      expect(BigInt(df)).toBe(grown.total);
    } else {
      // The device grew (rescan worked), but the kernel refused the online grow: an error, not a lie.
      await expect(expand(a, target, staging, to * MiB, fsCapability(fsType))).rejects.toThrow(/resize2fs[\s\S]*Permission denied/);
      const source = (await readMountTable()).filter((m) => m.mountPoint === staging).at(-1)!.source;
      expect(BigInt(execFileSync("blockdev", ["--getsize64", source], { encoding: "utf8" }).trim())).toBe(to * MiB);
    }
    expect(await readFile(join(target, "kept.txt"), "utf8")).toBe("survives the grow");

    // A required size the RDS never delivers: bounded wait, UNAVAILABLE.
    await expect(expand(a, target, staging, 2n * to * MiB, fsCapability(fsType))).rejects.toThrow(UnavailableError);

    await a.fabric.loseConnection(NQN);
    const lost = await stats(a, target, staging);
    expect(lost.volumeCondition?.abnormal).toBe(true);
    expect(lost.volumeCondition?.message).toMatch(/controller .*connecting/);
    await expect(expand(a, target, staging, to * MiB)).rejects.toThrow(UnavailableError);

    await a.fabric.reconnect(NQN, { renumber: true });
    const stale = await stats(a, target, staging);
    expect(stale.volumeCondition?.abnormal).toBe(true);
    expect(stale.volumeCondition?.message).toMatch(/stale/);
    expect(stale.volumeCondition?.message).not.toMatch(/connecting/);
    await expect(expand(a, target, staging, to * MiB)).rejects.toThrow(FailedPreconditionError);
  }, 120_000);

  it("a filesystem that went read-only is abnormal; a read-only publish alone is not", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, "pods", "a", "mount");
    await stage(a, staging);
    await a.node.nodePublishVolume({ volumeId: VOLUME, publishContext: publishContext(), stagingTargetPath: staging, targetPath: target, volumeCapability: fsCapability(), readonly: true, secrets: {}, volumeContext }, call());
    expect((await stats(a, target, staging)).volumeCondition).toEqual({ abnormal: false, message: "volume is healthy" });
    execFileSync("mount", ["-o", "remount,ro", staging]); // what errors=remount-ro does to the superblock
    for (const path of [staging, target]) {
      const condition = (await stats(a, path, staging)).volumeCondition;
      expect(condition?.abnormal).toBe(true);
      expect(condition?.message).toMatch(/read-only/);
    }
  }, 60_000);

  it("block: stats report the device size; expand reports the new size", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    const target = join(rig.dir, "pods", "a", "block", VOLUME);
    await stage(a, staging, blockCapability());
    await publish(a, staging, target, blockCapability());
    const before = await stats(a, target, staging);
    expect(before).toEqual({ usage: [{ unit: csi.VolumeUsage_Unit.BYTES, total: 64n * MiB, available: 0n, used: 0n }], volumeCondition: { abnormal: false, message: "volume is healthy" } });
    await rig.routerOs(`/disk set [find slot="${VOLUME}"] file-size=96M`);
    expect(await expand(a, target, staging, 96n * MiB, blockCapability())).toEqual({ capacityBytes: 96n * MiB });
    expect(bytesOf(await stats(a, target, staging)).total).toBe(96n * MiB);
    await unpublish(a, target);
    await unstage(a, staging);
  }, 60_000);

  // Issue 9 item 3: kubelet asks for a block volume's stats with only volume_id and its block publish path.
  it("block: stats and expand find the volume from kubelet's block publish path alone (no staging path)", async () => {
    const a = await newHost("node-a");
    const devices = join(kubeletCsiPluginDir(rig.dir), "volumeDevices");
    const staging = join(devices, "staging", "pv-block");
    const target = join(devices, "publish", "pv-block", "pod-uid-1");
    await mkdir(staging, { recursive: true });
    await stage(a, staging, blockCapability());
    await publish(a, staging, target, blockCapability());
    const alone = (path: string) => a.node.nodeGetVolumeStats({ volumeId: VOLUME, volumePath: path, stagingTargetPath: "" }, call());
    expect(await alone(target)).toEqual({ usage: [{ unit: csi.VolumeUsage_Unit.BYTES, total: 64n * MiB, available: 0n, used: 0n }], volumeCondition: { abnormal: false, message: "volume is healthy" } });
    await rig.routerOs(`/disk set [find slot="${VOLUME}"] file-size=96M`);
    expect(await expand(a, target, "", 96n * MiB, blockCapability())).toEqual({ capacityBytes: 96n * MiB });
    expect(bytesOf(await alone(target)).total).toBe(96n * MiB);
    await expect(a.node.nodeGetVolumeStats({ volumeId: "pvc-other", volumePath: target, stagingTargetPath: "" }, call())).rejects.toThrow(NotFoundError);
    await unpublish(a, target);
    await unstage(a, staging);
  }, 60_000);

  it("validates requests and advertises EXPAND_VOLUME, GET_VOLUME_STATS, VOLUME_CONDITION", async () => {
    const a = await newHost("node-a");
    const staging = await stagingDir("a");
    await expect(a.node.nodeGetVolumeStats({ volumeId: "", volumePath: staging, stagingTargetPath: "" }, call())).rejects.toThrow(InvalidArgumentError);
    await expect(a.node.nodeGetVolumeStats({ volumeId: VOLUME, volumePath: "relative", stagingTargetPath: "" }, call())).rejects.toThrow(InvalidArgumentError);
    await expect(a.node.nodeGetVolumeStats({ volumeId: VOLUME, volumePath: staging, stagingTargetPath: "" }, call())).rejects.toThrow(NotFoundError);
    await expect(expand(a, "", staging, 1n)).rejects.toThrow(InvalidArgumentError);
    await expect(
      a.node.nodeExpandVolume({ volumeId: VOLUME, volumePath: staging, stagingTargetPath: staging, capacityRange: { requiredBytes: 10n, limitBytes: 5n }, volumeCapability: undefined, secrets: {} }, call()),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(expand(a, staging, staging, 1n)).rejects.toThrow(NotFoundError);
    const types = (await a.node.nodeGetCapabilities()).capabilities.map((c) => c.rpc?.type);
    for (const t of [csi.NodeServiceCapability_RPC_Type.EXPAND_VOLUME, csi.NodeServiceCapability_RPC_Type.GET_VOLUME_STATS, csi.NodeServiceCapability_RPC_Type.VOLUME_CONDITION]) expect(types).toContain(t);
  });
});
