import { basename } from "node:path";
import type { NodeContext } from "./node-context.js";
import { findMetadataFiles, kubeletCsiPluginDir, METADATA_SCAN_DEPTH } from "./startup-reconciliation.js";
import { readStagingMetadata, readStagingMetadataFile, stagingMetadataFileName, type StagingMetadata } from "./staging/staging-metadata.js";

/** A staged volume found from a request: its metadata and the staging path it was staged at. */
export interface LocatedVolume {
  readonly metadata: StagingMetadata;
  readonly stagingPath: string;
}

/**
 * The staging metadata of `volumeId` for a request that names a volume path (stats, expand) or a
 * target (unpublish) and perhaps the staging path (validated by the caller). Kubelet sends the
 * staging path to plugins with STAGE_UNSTAGE_VOLUME, but not always: stats of a raw block volume
 * come with only the block publish path (`…/volumeDevices/publish/<pv>/<pod-uid>`). Without it,
 * the volume path may be the staging path itself, or a bind mount of it (found through the mount
 * table: another mount point of the same device and root carrying this volume's metadata), or
 * anything else; then the metadata is searched by its file name (the volume id's hash) under
 * kubelet's CSI plugin directory. Undefined when the volume is not staged here. Finding the
 * metadata says nothing about `volumePath`: the caller checks that the path is this volume's.
 */
export async function locateStagedVolume(ctx: NodeContext, volumeId: string, volumePath: string, stagingTargetPath: string, signal: AbortSignal): Promise<LocatedVolume | undefined> {
  if (stagingTargetPath !== "") return tryAt(stagingTargetPath, volumeId);
  const direct = await tryAt(volumePath, volumeId);
  if (direct !== undefined) return direct;
  const table = await ctx.mounter.mountTable();
  const mount = table.filter((m) => m.mountPoint === volumePath).at(-1);
  if (mount !== undefined) {
    for (const candidate of table) {
      if (candidate.mountPoint === volumePath || candidate.majorMinor !== mount.majorMinor || candidate.root !== mount.root) continue;
      const found = await tryAt(candidate.mountPoint, volumeId).catch(() => undefined);
      if (found !== undefined) return found;
    }
  }
  const files: string[] = [];
  await findMetadataFiles(kubeletCsiPluginDir(ctx.kubeletDir), METADATA_SCAN_DEPTH, new Set(table.map((m) => m.mountPoint)), files, signal);
  const name = stagingMetadataFileName(volumeId);
  for (const file of files.filter((f) => basename(f) === name)) {
    const found = await readStagingMetadataFile(file);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function tryAt(stagingPath: string, volumeId: string): Promise<LocatedVolume | undefined> {
  const metadata = await readStagingMetadata(stagingPath, volumeId);
  return metadata === undefined ? undefined : { metadata, stagingPath };
}
