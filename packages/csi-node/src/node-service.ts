import { UnimplementedError, type CallContext, type csi, type UnaryImplementation } from "@rds-csi/core";
import type { NodeContext } from "./node-context.js";
import { nodeGetCapabilities } from "./node-get-capabilities.js";
import { nodeGetInfo } from "./node-get-info.js";
import { nodePublishVolume } from "./node-publish-volume.js";
import { nodeStageVolume } from "./node-stage-volume.js";
import { nodeUnpublishVolume } from "./node-unpublish-volume.js";
import { nodeUnstageVolume } from "./node-unstage-volume.js";

/** CSI Node: one file per RPC; this class only routes. */
export class NodeService implements UnaryImplementation<csi.NodeService> {
  constructor(private readonly ctx: NodeContext) {}

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
  async nodeGetVolumeStats(): Promise<csi.NodeGetVolumeStatsResponse> {
    throw new UnimplementedError("NodeGetVolumeStats is not implemented yet");
  }
  async nodeExpandVolume(): Promise<csi.NodeExpandVolumeResponse> {
    throw new UnimplementedError("NodeExpandVolume is not implemented yet");
  }
  nodeGetCapabilities(): Promise<csi.NodeGetCapabilitiesResponse> {
    return nodeGetCapabilities();
  }
  nodeGetInfo(): Promise<csi.NodeGetInfoResponse> {
    return nodeGetInfo(this.ctx);
  }
}
