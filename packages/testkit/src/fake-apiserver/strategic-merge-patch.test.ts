import { ApiError } from "./status.js";
import { applyStrategicMergePatch } from "./strategic-merge-patch.js";

describe("applyStrategicMergePatch", () => {
  it("merges maps like a merge patch, null removing a key", () => {
    expect(applyStrategicMergePatch({ metadata: { labels: { a: "1", b: "2" } } }, { metadata: { labels: { a: null, c: "3" } } })).toEqual({
      metadata: { labels: { b: "2", c: "3" } },
    });
  });

  it("adds finalizers to the existing set instead of replacing it", () => {
    expect(applyStrategicMergePatch({ metadata: { finalizers: ["a", "b"] } }, { metadata: { finalizers: ["b", "c"] } })).toEqual({
      metadata: { finalizers: ["a", "b", "c"] },
    });
    expect(applyStrategicMergePatch({ metadata: {} }, { metadata: { finalizers: ["a"] } })).toEqual({ metadata: { finalizers: ["a"] } });
  });

  it("removes finalizers named in $deleteFromPrimitiveList, ignoring $setElementOrder", () => {
    const patch = { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"], "$setElementOrder/finalizers": ["b"], finalizers: ["c"] } };
    expect(applyStrategicMergePatch({ metadata: { finalizers: ["a", "b"] } }, patch)).toEqual({ metadata: { finalizers: ["b", "c"] } });
    expect(applyStrategicMergePatch({ metadata: {} }, { metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } })).toEqual({ metadata: {} });
  });

  it("merges conditions by type, and deletes one marked $patch: delete", () => {
    const target = {
      status: {
        conditions: [
          { type: "Ready", status: "True", reason: "KubeletReady" },
          { type: "DiskPressure", status: "False" },
          { type: "MemoryPressure", status: "False" },
        ],
      },
    };
    const patch = {
      status: {
        conditions: [
          { type: "Ready", status: "Unknown", reason: "NodeStatusUnknown" },
          { type: "MemoryPressure", $patch: "delete" },
          { type: "PIDPressure", status: "False" },
          { type: "NotThere", $patch: "delete" },
        ],
      },
    };
    expect(applyStrategicMergePatch(target, patch)).toEqual({
      status: {
        conditions: [
          { type: "Ready", status: "Unknown", reason: "NodeStatusUnknown" },
          { type: "DiskPressure", status: "False" },
          { type: "PIDPressure", status: "False" },
        ],
      },
    });
  });

  it("replaces lists without a merge strategy", () => {
    expect(applyStrategicMergePatch({ spec: { taints: [{ key: "a" }] } }, { spec: { taints: [{ key: "b" }] } })).toEqual({
      spec: { taints: [{ key: "b" }] },
    });
  });

  it("refuses malformed directives and list items with a 400", () => {
    expect(() => applyStrategicMergePatch({}, { metadata: { "$deleteFromPrimitiveList/finalizers": "a" } })).toThrow(ApiError);
    expect(() => applyStrategicMergePatch({}, { metadata: { "$deleteFromPrimitiveList/finalizers": "a" } })).toThrow("must be a list");
    expect(() => applyStrategicMergePatch({}, { status: { conditions: [{ status: "True" }] } })).toThrow("merge key type");
    expect(() => applyStrategicMergePatch({}, { status: { conditions: ["Ready"] } })).toThrow("merge key type");
  });

  it("returns a non-object patch as the new document", () => {
    expect(applyStrategicMergePatch({ a: 1 }, [1])).toEqual([1]);
  });
});
