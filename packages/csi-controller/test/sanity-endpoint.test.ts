import { describeControllerSanity } from "./sanity/describe-controller-sanity.js";
import { connectController } from "./support/controller-connection.js";

// The sanity suite against any CSI controller, given its endpoint:
//   CSI_SANITY_ENDPOINT=unix:///path/csi.sock CSI_SANITY_NODE_ID=node-a \
//     node --experimental-vm-modules node_modules/jest/bin/jest.js packages/csi-controller/dist/sanity-endpoint
// The node must be one the controller accepts for ControllerPublishVolume. Without the variable this
// file has nothing to test; controller-sanity.test.ts runs the same suite against our own controller.
const endpoint = process.env.CSI_SANITY_ENDPOINT;

(endpoint ? describe : describe.skip)(`CSI controller sanity against ${endpoint ?? "CSI_SANITY_ENDPOINT (unset)"}`, () => {
  describeControllerSanity({
    endpoint: () => endpoint!,
    connect: connectController,
    nodeId: () => process.env.CSI_SANITY_NODE_ID ?? "node-a",
  });
});
