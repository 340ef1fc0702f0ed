import { renderTable } from "./render-report.js";
import type { SelfCheckReport } from "./storage-self-check.js";
import { adviseSettings, judgeCopy, type Verdicts } from "./verdicts.js";

describe("copy verdicts", () => {
  const pattern = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);

  it("tell data, an empty copy and anything else apart", () => {
    expect(judgeCopy(pattern, Buffer.from(pattern))).toEqual({ result: "copies-data" });
    expect(judgeCopy(pattern, Buffer.alloc(8))).toEqual({ result: "copies-settings-only" });
    expect(judgeCopy(pattern, Buffer.from([1, 2, 3, 4, 0, 0, 0, 0]))).toEqual({
      result: "error",
      message: "the copy holds neither the pattern nor zeros (4 of 8 bytes differ)",
    });
  });
});

describe("controller settings advice", () => {
  const proven: Verdicts = {
    copy: { strategy: "disk-copy-from", snapshotRestore: { result: "copies-data" }, clone: { result: "copies-data" } },
    hostAccess: { newConnections: { result: "refused" }, liveConnections: { result: "kept" } },
  };

  it("says verified only on positive proof of both copy paths and of refusal", () => {
    expect(adviseSettings(proven).map((a) => a.value)).toEqual(["verified", "verified"]);
    const cloneFailed: Verdicts = { ...proven, copy: { ...proven.copy, clone: { result: "error", message: "timeout" } } };
    expect(adviseSettings(cloneFailed)[0]).toMatchObject({ value: "unverified", reason: expect.stringContaining("for clone") });
    const admitted: Verdicts = { ...proven, hostAccess: { ...proven.hostAccess, newConnections: { result: "admitted" } } };
    expect(adviseSettings(admitted)[1]).toMatchObject({ value: "unverified" });
  });

  it("are printed with the verdicts in the table", () => {
    const report: SelfCheckReport = {
      hostNqn: "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-1111-4222-8333-444444444444",
      strategy: "disk-copy-from",
      steps: [{ name: "reach the RDS and its pool", outcome: "ok", durationMs: 120, detail: "1000 bytes free" }],
      verdicts: { ...proven, copy: { ...proven.copy, clone: { result: "copies-settings-only" } } },
      advice: adviseSettings(proven),
      leftovers: [],
    };
    const text = renderTable({ rdsAddress: "10.0.0.5", rdsSshPort: 22, basePath: "/raid10/csi" }, report);
    expect(text).toContain("RDS at 10.0.0.5:22 (base path /raid10/csi)");
    expect(text).toMatch(/reach the RDS and its pool +ok +0\.1s +1000 bytes free/);
    expect(text).toMatch(/data copy via clone \(disk-copy-from\) +copies settings only \(empty copy\)/);
    const observed: SelfCheckReport = {
      ...report,
      verdicts: {
        ...proven,
        copy: {
          ...proven.copy,
          snapshotRestore: { result: "copies-data", observed: { background: true, sizeIgnored: false, completedAfterMs: 820 } },
          clone: { result: "copies-data", observed: { background: false, sizeIgnored: true, completedAfterMs: 3100 } },
        },
      },
    };
    const described = renderTable({ rdsAddress: "10.0.0.5", rdsSshPort: 22, basePath: "/raid10/csi" }, observed);
    expect(described).toContain("copies data, in the background (complete after 820 ms; the driver waits for it)");
    expect(described).toContain("copies data, at once, ignoring the size asked for (the driver grows the copy)");
    expect(text).toMatch(/live connection of a host no longer allowed +keeps live connections/);
    expect(text).toContain("--copy-strategy-trust (env COPY_STRATEGY_TRUST) of rds-csi-controller: verified");
  });
});
