import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { NODE_PARAMETER_DEFAULTS } from "@rds-csi/core";
import {
  connectSettingsOf, readStagingMetadata, readStagingMetadataFile, removeStagingMetadata, stagingMetadataPath, StagingMetadataError, writeStagingMetadata,
  type StagingMetadata,
} from "./staging-metadata.js";

const sample: StagingMetadata = {
  volumeId: "pvc-1234",
  nqn: "nqn.2000-02.com.mikrotik:pvc-1234",
  address: "10.0.0.5",
  port: 4420,
  hostNqn: "nqn.2014-08.org.nvmexpress:uuid:abc",
  mode: "filesystem",
  fsType: "ext4",
  device: { majorMinor: "259:3", nsid: 1, uuid: "0f7c2d9e-0000-4000-8000-000000000001" },
  stagedAt: "2024-05-01T12:00:00.000Z",
};

describe("staging metadata", () => {
  let root: string;
  let staging: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "rds-csi-staging-"));
    staging = join(root, "abc123", "globalmount");
    mkdirSync(staging, { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("lives beside the staging path, not inside it", () => {
    const path = stagingMetadataPath(staging, "pvc-1234");
    expect(dirname(path)).toBe(join(root, "abc123"));
    expect(path).toMatch(/rds-csi-staging-[0-9a-f]{64}\.json$/);
    expect(stagingMetadataPath(staging, "../../etc")).toMatch(/^.*abc123\/rds-csi-staging-[0-9a-f]{64}\.json$/);
  });

  it("round-trips, leaves no temp files, and is removed idempotently", async () => {
    expect(await readStagingMetadata(staging, "pvc-1234")).toBeUndefined();
    await writeStagingMetadata(staging, sample);
    await writeStagingMetadata(staging, { ...sample, port: 4421 }); // overwrite atomically
    expect(await readStagingMetadata(staging, "pvc-1234")).toEqual({ ...sample, port: 4421 });
    expect(readdirSync(dirname(staging)).sort()).toEqual(["globalmount", `rds-csi-staging-${stagingMetadataPath(staging, "pvc-1234").split("-").pop()}`].sort());
    await removeStagingMetadata(staging, "pvc-1234");
    await removeStagingMetadata(staging, "pvc-1234");
    expect(await readStagingMetadata(staging, "pvc-1234")).toBeUndefined();
    expect(readdirSync(dirname(staging))).toEqual(["globalmount"]);
  });

  it("block mode has no fs type", async () => {
    const block: StagingMetadata = { ...sample, mode: "block", fsType: null };
    await writeStagingMetadata(staging, block);
    expect(await readStagingMetadata(staging, "pvc-1234")).toEqual(block);
    await expect(writeStagingMetadata(staging, { ...block, fsType: "ext4" })).rejects.toThrow(/fsType.*null in block mode/);
  });

  it("a corrupt or invalid file is a clear error naming the file and the field", async () => {
    const path = stagingMetadataPath(staging, "pvc-1234");
    writeFileSync(path, "{ not json");
    await expect(readStagingMetadata(staging, "pvc-1234")).rejects.toThrow(StagingMetadataError);
    await expect(readStagingMetadata(staging, "pvc-1234")).rejects.toThrow(new RegExp(`${path}.*not JSON`));
    writeFileSync(path, JSON.stringify({ version: 1, ...sample, port: "4420" }));
    await expect(readStagingMetadata(staging, "pvc-1234")).rejects.toThrow(/field "port"/);
    writeFileSync(path, JSON.stringify({ version: 1, ...sample, device: { ...sample.device, majorMinor: "nvme0n1" } }));
    await expect(readStagingMetadata(staging, "pvc-1234")).rejects.toThrow(/device\.majorMinor/);
    writeFileSync(path, JSON.stringify({ version: 2, ...sample }));
    await expect(readStagingMetadata(staging, "pvc-1234")).rejects.toThrow(/version/);
    writeFileSync(path, JSON.stringify({ version: 1, ...sample, volumeId: "pvc-other" }));
    await expect(readStagingMetadata(staging, "pvc-1234")).rejects.toThrow(/names volume "pvc-other"/);
  });

  it("records the staging path and the publish targets; a file found by a scan yields both", async () => {
    const targets = [{ path: "/pods/a/mount", readonly: false }, { path: "/pods/b/mount", readonly: true, reboundAt: "2024-05-02T08:00:00.000Z" }];
    await writeStagingMetadata(staging, { ...sample, publishedTargets: targets });
    const path = stagingMetadataPath(staging, "pvc-1234");
    expect(await readStagingMetadataFile(path)).toEqual({ metadata: { ...sample, publishedTargets: targets }, stagingPath: staging });
    expect(await readStagingMetadataFile(join(root, "gone.json"))).toBeUndefined();

    // A file that records no staging path (or sits where another staging path's metadata would) is not followed.
    writeFileSync(path, JSON.stringify({ version: 1, ...sample }));
    expect(await readStagingMetadataFile(path)).toBeUndefined();
    writeFileSync(path, JSON.stringify({ version: 1, ...sample, stagingPath: "/elsewhere/globalmount" }));
    await expect(readStagingMetadataFile(path)).rejects.toThrow(/does not belong to staging path "\/elsewhere\/globalmount"/);
    writeFileSync(path, "{ not json");
    await expect(readStagingMetadataFile(path)).rejects.toThrow(StagingMetadataError);
    await expect(writeStagingMetadata(staging, { ...sample, publishedTargets: [{ path: "relative", readonly: false }] })).rejects.toThrow(/publishedTargets/);
  });

  it("records the stage's connect settings; metadata without them reconnects with the StorageClass defaults", async () => {
    const settings = { ctrlLossTmo: -1, reconnectDelay: 2, keepAliveTmo: 0 };
    await writeStagingMetadata(staging, { ...sample, ...settings });
    const read = (await readStagingMetadata(staging, "pvc-1234"))!;
    expect(read).toEqual({ ...sample, ...settings });
    expect(connectSettingsOf(read)).toEqual(settings);
    expect(connectSettingsOf(sample)).toEqual({
      ctrlLossTmo: NODE_PARAMETER_DEFAULTS.ctrlLossTmo,
      reconnectDelay: NODE_PARAMETER_DEFAULTS.reconnectDelay,
      keepAliveTmo: NODE_PARAMETER_DEFAULTS.keepAliveTmo,
    });
    await expect(writeStagingMetadata(staging, { ...sample, reconnectDelay: 0 })).rejects.toThrow(/field "reconnectDelay" must be an integer from 1 to 3600/);
    writeFileSync(stagingMetadataPath(staging, "pvc-1234"), JSON.stringify({ version: 1, ...sample, ctrlLossTmo: "1800" }));
    await expect(readStagingMetadata(staging, "pvc-1234")).rejects.toThrow(/field "ctrlLossTmo"/);
  });

  it("records the staging mount's options; metadata without them reads as no options", async () => {
    await writeStagingMetadata(staging, { ...sample, mountFlags: ["noatime", "data=ordered"] });
    expect(await readStagingMetadata(staging, "pvc-1234")).toEqual({ ...sample, mountFlags: ["noatime", "data=ordered"] });
    await writeStagingMetadata(staging, sample);
    expect((await readStagingMetadata(staging, "pvc-1234"))?.mountFlags).toBeUndefined();
    await expect(writeStagingMetadata(staging, { ...sample, mountFlags: ["noatime,nodev"] })).rejects.toThrow(/field "mountFlags"/);
    writeFileSync(stagingMetadataPath(staging, "pvc-1234"), JSON.stringify({ version: 1, ...sample, mountFlags: "noatime" }));
    await expect(readStagingMetadata(staging, "pvc-1234")).rejects.toThrow(/field "mountFlags"/);
  });

  it("records when an unstage began; rewriting without it clears the mark", async () => {
    await writeStagingMetadata(staging, { ...sample, unstagingSince: "2024-05-03T09:00:00.000Z" });
    expect(await readStagingMetadata(staging, "pvc-1234")).toEqual({ ...sample, unstagingSince: "2024-05-03T09:00:00.000Z" });
    await writeStagingMetadata(staging, { ...sample, unstagingSince: undefined });
    expect(await readStagingMetadata(staging, "pvc-1234")).toStrictEqual(sample);
    writeFileSync(stagingMetadataPath(staging, "pvc-1234"), JSON.stringify({ version: 1, ...sample, unstagingSince: "soon" }));
    await expect(readStagingMetadata(staging, "pvc-1234")).rejects.toThrow(/field "unstagingSince" is not a date/);
  });

  it("refuses to write invalid metadata and leaves nothing behind", async () => {
    await expect(writeStagingMetadata(staging, { ...sample, port: 0 })).rejects.toThrow(StagingMetadataError);
    expect(readdirSync(dirname(staging))).toEqual(["globalmount"]);
  });
});
