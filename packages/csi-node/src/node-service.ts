import { ProcessExec, type CallContext, type csi, type UnaryImplementation } from "@rds-csi/core";
import { FilesystemResizer } from "./mount/resize-filesystem.js";
import type { NodeContext } from "./node-context.js";
import { nodeExpandVolume, type ExpandDependencies } from "./node-expand-volume.js";
import { nodeGetCapabilities } from "./node-get-capabilities.js";
import { nodeGetInfo } from "./node-get-info.js";
import { nodeGetVolumeStats } from "./node-get-volume-stats.js";
import { nodePublishVolume } from "./node-publish-volume.js";
import { nodeStageVolume } from "./node-stage-volume.js";
import { nodeUnpublishVolume } from "./node-unpublish-volume.js";
import { nodeUnstageVolume } from "./node-unstage-volume.js";

/** CSI Node: one file per RPC; this class only routes. */
export class NodeService implements UnaryImplementation<csi.NodeService> {
  readonly #expand: ExpandDependencies;

  /**
   * `expand` defaults to a ProcessExec, the `nvme` on PATH and a FilesystemResizer over that exec;
   * pass the configured nvme-cli (the setting main.ts reads) so ns-rescan uses the same program as connect.
   */
  constructor(
    private readonly ctx: NodeContext,
    expand: Partial<ExpandDependencies> = {},
  ) {
    const exec = expand.exec ?? new ProcessExec();
    this.#expand = { ...expand, exec, nvmeCli: expand.nvmeCli ?? "nvme", resizer: expand.resizer ?? new FilesystemResizer(exec) };
  }

  nodeStageVolume(request: csi.NodeStageVolumeRequest, call: CallContext): Promise<csi.NodeStageVolumeResponse> {
    return nodeStageVolume(this.ctx, request, call);
  }
  nodeUnstageVolume(request: csi.NodeUnstageVolumeRequest, call: CallContext): Promise<csi.NodeUnstageVolumeResponse> {
    return nodeUnstageVolume(this.ctx, request, call);
  }
  nodePublishVolume(request: csi.NodePublishVolumeRequest, call: CallContext): Promise<csi.NodePublishVolumeResponse> {
    return nodePublishVolume(this.ctx, request, call);
  }
  nodeUnpublishVolume(request: csi.NodeUnpublishVolumeRequest, call: CallContext): Promise<csi.NodeUnpublishVolumeResponse> {
    return nodeUnpublishVolume(this.ctx, request, call);
  }
  nodeGetVolumeStats(request: csi.NodeGetVolumeStatsRequest, call: CallContext): Promise<csi.NodeGetVolumeStatsResponse> {
    return nodeGetVolumeStats(this.ctx, request, call);
  }
  nodeExpandVolume(request: csi.NodeExpandVolumeRequest, call: CallContext): Promise<csi.NodeExpandVolumeResponse> {
    return nodeExpandVolume(this.ctx, this.#expand, request, call);
  }
  nodeGetCapabilities(): Promise<csi.NodeGetCapabilitiesResponse> {
    return nodeGetCapabilities();
  }
  nodeGetInfo(): Promise<csi.NodeGetInfoResponse> {
    return nodeGetInfo(this.ctx);
  }
}
