import { parseFieldSelector } from "./field-selector.js";
import type { KubeObject } from "./kube-object.js";
import { resourceByKind } from "./resources.js";
import { ApiError } from "./status.js";

describe("parseFieldSelector", () => {
  const pods = resourceByKind("Pod");
  const attachments = resourceByKind("VolumeAttachment");
  const pod: KubeObject = { metadata: { name: "p1", namespace: "ns1" }, spec: { nodeName: "n1" }, status: { phase: "Running" } };
  const va: KubeObject = { metadata: { name: "va1" }, spec: { attacher: "rds.csi.mikrotik.com", nodeName: "n2" } };

  it.each([
    ["", true],
    ["metadata.name=p1", true],
    ["metadata.name==p1", true],
    ["metadata.name!=p1", false],
    ["metadata.namespace=ns1,spec.nodeName=n1", true],
    ["spec.nodeName=n2", false],
    ["spec.nodeName!=n2", true],
    ["status.phase=Running", true],
  ])("pods: %j matches: %s", (selector, expected) => {
    expect(parseFieldSelector(selector, pods)(pod)).toBe(expected);
  });

  it("selects VolumeAttachments by name only: spec.attacher and spec.nodeName are no field labels", () => {
    expect(parseFieldSelector("metadata.name=va1", attachments)(va)).toBe(true);
    expect(() => parseFieldSelector("spec.attacher=rds.csi.mikrotik.com", attachments)).toThrow("field label not supported: spec.attacher");
    expect(() => parseFieldSelector("spec.nodeName=n2", attachments)).toThrow("field label not supported: spec.nodeName");
  });

  it("compares an absent field as the empty string", () => {
    expect(parseFieldSelector("spec.nodeName=", pods)({ metadata: { name: "pending" } })).toBe(true);
    expect(parseFieldSelector("spec.nodeName=", pods)({ metadata: { name: "odd" }, spec: "not-an-object" })).toBe(true);
  });

  it("refuses a field the resource does not support, like the real server", () => {
    expect(() => parseFieldSelector("spec.attacher=x", pods)).toThrow("field label not supported: spec.attacher");
  });

  it("refuses a malformed term with a 400", () => {
    expect(() => parseFieldSelector("metadata.name", pods)).toThrow(ApiError);
  });
});
