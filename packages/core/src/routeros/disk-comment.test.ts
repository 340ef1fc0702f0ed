import { formatDiskComment, parseDiskComment } from "./disk-comment.js";

describe("disk comment", () => {
  it("round-trips a snapshot's metadata", () => {
    const metadata = {
      kind: "snapshot" as const,
      sourceVolumeId: "pvc-5b0c1d2e-0000-4000-8000-000000000001",
      sizeBytes: 2n ** 40n + 4096n,
      createdAt: new Date("2026-11-26T10:00:00.123Z"),
      strategy: "disk-copy-from",
    };
    const comment = formatDiskComment(metadata);
    expect(comment).toBe(
      "rds-csi:v1 kind:snapshot source:pvc-5b0c1d2e-0000-4000-8000-000000000001 size:1099511631872 created:2026-11-26T10:00:00.123Z strategy:disk-copy-from",
    );
    expect(parseDiskComment(comment)).toEqual(metadata);
  });

  it("round-trips a volume's tag, and a copy's source and size", () => {
    expect(parseDiskComment(formatDiskComment({ kind: "volume" }))).toEqual({ kind: "volume" });
    const copy = { kind: "volume" as const, copy: { sourceId: "snap-1", sizeBytes: 3n * 2n ** 30n } };
    expect(formatDiskComment(copy)).toBe("rds-csi:v1 kind:volume source:snap-1 size:3221225472");
    expect(parseDiskComment(formatDiskComment(copy))).toEqual(copy);
  });

  it.each([
    [undefined],
    [""],
    ["backup of the VM disk, do not delete"],
    ["rds-csi:v2 kind:volume"],
    ["rds-csi:v1 kind:snapshot source:pvc-1 size:12 created:not-a-date strategy:disk-copy-from"],
    ["rds-csi:v1 kind:snapshot source:pvc-1 size:12GiB created:2026-11-26T10:00:00Z strategy:disk-copy-from"],
    ["rds-csi:v1 kind:snapshot size:12 created:2026-11-26T10:00:00Z strategy:disk-copy-from"],
    ["rds-csi:v1 kind:pool"],
    ["rds-csi:v1 kind=volume"],
  ])("treats %p as not ours", (comment) => {
    expect(parseDiskComment(comment)).toBeUndefined();
  });
});
