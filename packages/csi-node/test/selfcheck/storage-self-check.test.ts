import { ProcessExec } from "@rds-csi/core";
import { describeAsRoot } from "@rds-csi/testkit";
import { DeviceResolver } from "../../src/nvme/device-identity.js";
import { NvmeCliInitiator } from "../../src/nvme/nvme-cli-initiator.js";
import { RootedSysfs } from "../../src/nvme/sysfs.js";
import { DirectPatternIo } from "../../src/selfcheck/pattern-io.js";
import { scratchNames } from "../../src/selfcheck/scratch-names.js";
import { useSelfcheckRig } from "../support/selfcheck-rig.js";
import type { StepRecord } from "../../src/selfcheck/step-log.js";
import { StorageSelfCheck } from "../../src/selfcheck/storage-self-check.js";

const rig = useSelfcheckRig();
const MiB = 1024 * 1024;
const HOUR = 3_600_000;

function selfCheck(onStep?: (record: StepRecord) => void): StorageSelfCheck {
  const exec = new ProcessExec();
  const sysfs = new RootedSysfs(rig.fabric.sysfsRoot);
  return new StorageSelfCheck({
    rds: rig.rds,
    initiator: new NvmeCliInitiator({ exec, nvmeCli: rig.shim, sysfs }),
    resolver: new DeviceResolver(sysfs, rig.fabric.devRoot),
    io: new DirectPatternIo({ exec, tempDir: rig.dir, timeoutMs: 20_000 }),
    host: rig.host,
    nvme: { address: "127.0.0.1", port: 4420 },
    sizeBytes: 2 * MiB,
    timeouts: { rdsMs: 20_000, copyMs: 20_000, attachMs: 10_000, ioMs: 20_000, dropWaitMs: 1_000 },
    maxRunMs: HOUR,
    ...(onStep ? { onStep } : {}),
  });
}

const run = (check = selfCheck()) => check.run(new AbortController().signal);

// Scratch volumes attached through the fake fabric onto loop devices, written with dd: root only.
describeAsRoot("storage self-check against the simulated RDS", () => {
  it("settings-only copies and an ignored allow-list: empty copies, admitted, kept; both settings stay unverified", async () => {
    await rig.modes("settings-only", "ignored");
    const report = await run();
    expect(report.problem).toBeUndefined();
    expect(report.verdicts).toEqual({
      copy: { strategy: "disk-copy-from", snapshotRestore: { result: "copies-settings-only" }, clone: { result: "copies-settings-only" } },
      hostAccess: { newConnections: { result: "admitted" }, liveConnections: { result: "kept" } },
    });
    expect(report.advice.map((advice) => advice.value)).toEqual(["unverified", "unverified"]);
    expect(report.leftovers).toEqual([]);
    expect(report.steps.filter((step) => step.outcome === "failed")).toEqual([]);
  }, 120_000);

  it("data copies and an allow-list enforced on new connections: copies data, refused, kept; both settings verified", async () => {
    await rig.modes("data", "enforce-new");
    const report = await run();
    const atOnce = { result: "copies-data", observed: { background: false, sizeIgnored: false, completedAfterMs: expect.any(Number) } };
    expect(report.verdicts).toEqual({
      copy: { strategy: "disk-copy-from", snapshotRestore: atOnce, clone: atOnce },
      hostAccess: { newConnections: { result: "refused" }, liveConnections: { result: "kept" } },
    });
    expect(report.advice.map((advice) => [advice.setting.split(" ")[0], advice.value])).toEqual([
      ["--copy-strategy-trust", "verified"],
      ["--host-access-control-trust", "verified"],
    ]);
  }, 120_000);

  it.each([
    ["data-in-background", { background: true, sizeIgnored: false }, { background: true, sizeIgnored: false }],
    ["data-ignoring-size", { background: false, sizeIgnored: true }, { background: false, sizeIgnored: false }],
  ] as const)("tells how the RDS copies under copy-from %s, and the copies hold the data", async (mode, restore, clone) => {
    await rig.modes(mode, "ignored");
    const report = await run();
    expect(report.problem).toBeUndefined();
    expect(report.verdicts?.copy).toEqual({
      strategy: "disk-copy-from",
      snapshotRestore: { result: "copies-data", observed: { ...restore, completedAfterMs: expect.any(Number) } },
      clone: { result: "copies-data", observed: { ...clone, completedAfterMs: expect.any(Number) } },
    });
    expect(report.advice[0]?.value).toBe("verified");
  }, 120_000);

  it("an allow-list that also drops live connections: refused and dropped", async () => {
    await rig.modes("settings-only", "enforce-and-drop");
    const report = await run();
    expect(report.verdicts?.hostAccess).toEqual({ newConnections: { result: "refused" }, liveConnections: { result: "dropped" } });
    expect(report.verdicts?.copy.clone).toEqual({ result: "copies-settings-only" });
  }, 120_000);

  it("removes this host's leftovers of a crashed run and other hosts' old ones, but not a run in progress elsewhere", async () => {
    await rig.modes("settings-only", "ignored");
    const crashed = scratchNames(rig.host.hostNqn, new Date(Date.now() - 60_000));
    const otherOld = scratchNames("nqn.2014-08.org.nvmexpress:uuid:11111111-2222-4333-8444-555555555555", new Date(Date.now() - 2 * HOUR));
    const otherRunning = scratchNames("nqn.2014-08.org.nvmexpress:uuid:11111111-2222-4333-8444-555555555555", new Date());
    const signal = AbortSignal.timeout(30_000);
    for (const id of [crashed.source, crashed.clone, otherOld.source, otherRunning.source]) {
      await rig.rds.createVolume({ id, sizeBytes: 1n * BigInt(MiB), port: 4420 }, signal);
    }
    await rig.rds.createSnapshot({ id: crashed.snapshot, sourceVolumeId: crashed.source }, signal);
    // The crashed run was still attached to its source.
    await rig.fabric.connect({ traddr: "127.0.0.1", trsvcid: "4420", nqn: `nqn.2000-02.com.mikrotik:${crashed.source}` });

    const report = await run();

    const leftovers = report.steps.find((step) => step.name === "remove leftovers of earlier runs");
    expect(leftovers?.outcome).toBe("ok");
    expect(leftovers?.detail?.split(", ").sort()).toEqual([crashed.source, crashed.clone, otherOld.source, crashed.snapshot].sort());
    expect(rig.sim.disks().map((disk) => disk.slot)).toEqual([otherRunning.source]);
    await rig.rds.deleteVolume(otherRunning.source, signal);
  }, 120_000);

  it("cleans up everything it made when stopped in the middle, and reports the interruption", async () => {
    await rig.modes("data", "ignored");
    const stop = new AbortController();
    const check = selfCheck((record) => {
      if (record.name.startsWith("attach the clone copy")) stop.abort(new Error("SIGINT received"));
    });
    const report = await check.run(stop.signal);
    expect(report.verdicts).toBeUndefined();
    expect(report.problem).toBe("interrupted: SIGINT received");
    expect(report.leftovers).toEqual([]);
    expect(report.steps.filter((step) => step.name.startsWith("clean up:")).every((step) => step.outcome === "ok")).toBe(true);
  }, 120_000);
});
