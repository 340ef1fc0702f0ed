import fc from "fast-check";
import { isSnapshotId, isVolumeId, snapshotIdFromName, volumeIdFromName } from "./volume-id.js";

const PV_NAME = "pvc-5b0c1f2e-0000-4000-8000-123456789abc";

describe("volume ids", () => {
  it("keeps a PV name verbatim, so volumes of the earlier Go driver are adopted", () => {
    expect(volumeIdFromName(PV_NAME)).toBe(PV_NAME);
  });

  it("derives pvc-<uuidv5(name)> from any other name, the same every time", () => {
    expect(volumeIdFromName("my-volume")).toBe("pvc-048fb259-4cb7-5f06-887c-eadbf0c29a0d");
    // Not our grammar (upper case), so hashed like any other name rather than used as a slot.
    expect(volumeIdFromName(PV_NAME.toUpperCase())).not.toBe(PV_NAME.toUpperCase());
    expect(volumeIdFromName("x".repeat(128))).toBe(volumeIdFromName("x".repeat(128)));
    expect(volumeIdFromName("x".repeat(128))).not.toBe(volumeIdFromName("x".repeat(127)));
  });

  it("always yields an id of the driver's grammar, for any name", () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 300, unit: "grapheme" }), (name) => isVolumeId(volumeIdFromName(name))));
  });

  it("accepts only pvc-<lower-case uuid> as a volume id", () => {
    expect(isVolumeId(PV_NAME)).toBe(true);
    for (const id of ["storage-pool", "../x", "pvc-", "pvc-../x", `${PV_NAME}/x`, `${PV_NAME} `, PV_NAME.toUpperCase(), "snap-5b0c1f2e-0000-4000-8000-123456789abc"]) {
      expect(isVolumeId(id)).toBe(false);
    }
  });
});

describe("snapshot ids", () => {
  it("derives snap-<uuidv5(name)> deterministically", () => {
    expect(snapshotIdFromName("my-volume")).toBe("snap-048fb259-4cb7-5f06-887c-eadbf0c29a0d");
    expect(isSnapshotId(snapshotIdFromName("anything at all"))).toBe(true);
  });

  it("accepts ours and the earlier Go driver's snap-<uuid>-at-<hex>, nothing else", () => {
    expect(isSnapshotId("snap-048fb259-4cb7-5f06-887c-eadbf0c29a0d-at-048fb2594c")).toBe(true);
    for (const id of ["snap-", "snap-x", "snapshot-1", PV_NAME, "snap-048fb259-4cb7-5f06-887c-eadbf0c29a0d-at-", "../snap"]) {
      expect(isSnapshotId(id)).toBe(false);
    }
  });
});
