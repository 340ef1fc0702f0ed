/**
 * The Node annotation where the attachment-reconciler records a fence (JSON: phase, times, each
 * strategy's result). The node plugin reads it to know its node was fenced.
 */
export const FENCE_ANNOTATION = "rds.csi.srvlab.io/fence";

/**
 * The node plugin writes this annotation (an RFC 3339 time) once its node was fenced and it has made
 * sure no volume that moved away is connected or reconnected here; the reconciler unfences only after
 * it changed since the fence.
 */
export const CLEANED_UP_ANNOTATION = "rds.csi.srvlab.io/cleaned-up";
