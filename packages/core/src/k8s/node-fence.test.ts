import type { KubeNode, Taint } from "./kube-objects.js";
import { fenceEvidence, hasOutOfServiceTaint, OUT_OF_SERVICE_TAINT } from "./node-fence.js";
import { FENCE_ANNOTATION } from "./node-fence-annotations.js";

describe("fenceEvidence", () => {
  const node = (options: { record?: string; taints?: readonly Taint[] } = {}): KubeNode => ({
    metadata: { name: "n1", annotations: options.record === undefined ? {} : { [FENCE_ANNOTATION]: options.record } },
    spec: { taints: options.taints ?? [] },
  });

  it("names the fence record and the out-of-service taint, each or both", () => {
    expect(fenceEvidence(node())).toBeUndefined();
    expect(fenceEvidence({})).toBeUndefined();
    expect(fenceEvidence(node({ record: '{"phase":"done"}' }))).toBe(`it carries the attachment-reconciler's fence record (annotation ${FENCE_ANNOTATION})`);
    // A record the reconciler could not read still says a fence was started: the safe side is "fenced".
    expect(fenceEvidence(node({ record: "not json" }))).toBeDefined();
    expect(fenceEvidence(node({ taints: [OUT_OF_SERVICE_TAINT] }))).toBe("it has the taint node.kubernetes.io/out-of-service:NoExecute");
    expect(fenceEvidence(node({ record: "{}", taints: [OUT_OF_SERVICE_TAINT] }))).toMatch(/fence record .* and it has the taint/);
  });

  it("counts the out-of-service key with the NoExecute effect only, as the reconciler writes and reads it", () => {
    expect(hasOutOfServiceTaint(node({ taints: [{ key: OUT_OF_SERVICE_TAINT.key, value: "other", effect: "NoExecute" }] }))).toBe(true);
    expect(hasOutOfServiceTaint(node({ taints: [{ key: OUT_OF_SERVICE_TAINT.key, effect: "NoSchedule" }] }))).toBe(false);
    expect(hasOutOfServiceTaint(node({ taints: [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }] }))).toBe(false);
  });
});
