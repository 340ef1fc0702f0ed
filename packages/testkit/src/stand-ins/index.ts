// Stand-ins for the Kubernetes components that act on VolumeAttachments, for scenario tests.
export { attacherFinalizer, ExternalAttacherStandIn, type ExternalAttacherOptions } from "./external-attacher.js";
export { attachmentNameOf, AttachDetachControllerStandIn, OUT_OF_SERVICE_TAINT, type AttachDetachControllerOptions } from "./attach-detach-controller.js";
