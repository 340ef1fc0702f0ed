import { describeAsRoot } from "@rds-csi/testkit";
import { FailedPreconditionError, InternalError, MetricsRegistry } from "@rds-csi/core";
import { registerStageMetrics, STAGE_PHASES } from "../src/stage-metrics.js";
import { useNodeRig } from "./support/node-test-rig.js";

/** `rds_csi_node_stage_phase_duration_seconds_count` per phase; phases never observed are absent. */
async function phaseCounts(metrics: MetricsRegistry): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const match of (await metrics.metrics()).matchAll(/^rds_csi_node_stage_phase_duration_seconds_count\{phase="([a-z_]+)"\} (\d+)$/gm)) {
    counts[match[1]!] = Number(match[2]);
  }
  return counts;
}

async function formatCount(metrics: MetricsRegistry, fsType: string, outcome: string): Promise<number | undefined> {
  const pattern = new RegExp(`^rds_csi_node_format_operations_total\\{fs_type="${fsType}",outcome="${outcome}"\\} (\\d+)$`, "m");
  const match = pattern.exec(await metrics.metrics());
  return match ? Number(match[1]) : undefined;
}

describe("stage recorder", () => {
  it("counts a refused format (the formatter's guard) apart from a failed one, and times both", async () => {
    const metrics = new MetricsRegistry();
    const recorder = registerStageMetrics(metrics);
    await expect(recorder.format("xfs", () => Promise.reject(new FailedPreconditionError("holds ext4")))).rejects.toThrow(FailedPreconditionError);
    await expect(recorder.format("xfs", () => Promise.reject(new InternalError("mkfs.xfs exited 1")))).rejects.toThrow(InternalError);
    await recorder.format("ext3", () => Promise.resolve());
    expect(await formatCount(metrics, "xfs", "refused")).toBe(1);
    expect(await formatCount(metrics, "xfs", "failed")).toBe(1);
    expect(await formatCount(metrics, "ext3", "ok")).toBe(1);
    expect(await phaseCounts(metrics)).toEqual({ format: 3 });
  });

  it("records a failed step under its phase and passes the error on", async () => {
    const metrics = new MetricsRegistry();
    const recorder = registerStageMetrics(metrics);
    await expect(recorder.time("device_wait", () => Promise.reject(new Error("no namespace")))).rejects.toThrow("no namespace");
    expect(await recorder.time("connect", () => Promise.resolve(42))).toBe(42);
    expect(await phaseCounts(metrics)).toEqual({ device_wait: 1, connect: 1 });
  });
});

// Real loop devices, mkfs and mounts through the fake fabric: root only.

describeAsRoot("stage metrics after a real NodeStage", () => {
  const rig = useNodeRig({ volume: "pvc-stage-metrics", tempPrefix: "csi-node-stage-metrics-", diskSize: "64M" });

  it("a first stage times every step and counts one ext4 format; a re-stage after unstage probes but does not format", async () => {
    const a = await rig.newHost("node-a");
    const staging = await rig.stagingDir("a");

    await rig.stage(a, staging);
    expect(await phaseCounts(a.metrics)).toEqual({ metadata_read: 1, connect: 1, device_wait: 1, probe: 1, format: 1, mount: 1, metadata_write: 1 });
    expect(await formatCount(a.metrics, "ext4", "ok")).toBe(1);

    await rig.stage(a, staging); // already staged: looked up and checked, nothing else
    expect(await phaseCounts(a.metrics)).toEqual({ metadata_read: 2, live_check: 1, connect: 1, device_wait: 1, probe: 1, format: 1, mount: 1, metadata_write: 1 });

    await rig.unstage(a, staging);
    await rig.stage(a, staging); // the device now holds ext4: probed, mounted, never formatted again
    const counts = await phaseCounts(a.metrics);
    expect(counts).toMatchObject({ connect: 2, device_wait: 2, probe: 2, format: 1, mount: 2 });
    expect(await formatCount(a.metrics, "ext4", "ok")).toBe(1);
    expect(Object.keys(counts).every((phase) => (STAGE_PHASES as readonly string[]).includes(phase))).toBe(true);
    await rig.unstage(a, staging);
  }, 60_000);

  it("block mode stages without probe, format or mount", async () => {
    const a = await rig.newHost("node-a");
    const staging = await rig.stagingDir("a");
    await rig.stage(a, staging, rig.blockCapability());
    expect(await phaseCounts(a.metrics)).toEqual({ metadata_read: 1, connect: 1, device_wait: 1, metadata_write: 1 });
    expect(await a.metrics.metrics()).not.toMatch(/^rds_csi_node_format_operations_total\{/m);
    await rig.unstage(a, staging);
  }, 60_000);
});
