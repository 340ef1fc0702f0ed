import { applyJsonPatch } from "./json-patch.js";
import { ApiError } from "./status.js";

function failure(patch: unknown, target: unknown = { a: 1 }): { code: number; message: string } {
  try {
    applyJsonPatch(target, patch);
  } catch (err) {
    if (err instanceof ApiError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected the patch to fail");
}

describe("applyJsonPatch", () => {
  const pod = { metadata: { name: "p", labels: { "app.kubernetes.io/name": "db" }, finalizers: ["a", "b"] }, spec: {} };

  it("adds, replaces and removes object members (with ~1 and ~0 escapes)", () => {
    expect(
      applyJsonPatch(pod, [
        { op: "add", path: "/metadata/annotations", value: { "x~y": "1" } },
        { op: "replace", path: "/metadata/labels/app.kubernetes.io~1name", value: "web" },
        { op: "remove", path: "/metadata/annotations/x~0y" },
        { op: "add", path: "/spec/nodeName", value: "n1" },
      ]),
    ).toEqual({ metadata: { name: "p", labels: { "app.kubernetes.io/name": "web" }, annotations: {}, finalizers: ["a", "b"] }, spec: { nodeName: "n1" } });
  });

  it("inserts, appends, replaces and removes array elements", () => {
    expect(
      applyJsonPatch(pod, [
        { op: "add", path: "/metadata/finalizers/0", value: "first" },
        { op: "add", path: "/metadata/finalizers/-", value: "last" },
        { op: "replace", path: "/metadata/finalizers/1", value: "A" },
        { op: "remove", path: "/metadata/finalizers/2" },
        { op: "test", path: "/metadata/finalizers/2", value: "last" },
      ]),
    ).toMatchObject({ metadata: { finalizers: ["first", "A", "last"] } });
  });

  it("tests values, including the whole document, and replaces the root", () => {
    expect(applyJsonPatch(pod, [{ op: "test", path: "/metadata/labels", value: { "app.kubernetes.io/name": "db" } }])).toEqual(pod);
    expect(applyJsonPatch({ a: 1 }, [{ op: "test", path: "", value: { a: 1 } }])).toEqual({ a: 1 });
    expect(applyJsonPatch({ a: 1 }, [{ op: "replace", path: "", value: { b: 2 } }])).toEqual({ b: 2 });
  });

  it("leaves the target untouched", () => {
    const target = { metadata: { finalizers: ["a"] } };
    applyJsonPatch(target, [{ op: "remove", path: "/metadata/finalizers/0" }]);
    expect(target).toEqual({ metadata: { finalizers: ["a"] } });
  });

  it.each([
    [{ op: "add", path: "/a" }, "no value"],
    [{ op: "move", from: "/a", path: "/b" }, "unsupported JSON patch operation"],
    [{ op: "add", value: 1 }, "needs an op and a path"],
    [{ op: "add", path: "a", value: 1 }, "invalid JSON pointer"],
  ])("refuses the malformed operation %j with a 400", (op, message) => {
    expect(failure([op])).toEqual({ code: 400, message: expect.stringContaining(message) as unknown as string });
  });

  it("refuses a patch that is not a list with a 400", () => {
    expect(failure({ op: "add" }).code).toBe(400);
  });

  it.each([
    [{ op: "replace", path: "/b", value: 1 }, 'doc is missing path: "/b"'],
    [{ op: "remove", path: "/b/c" }, 'doc is missing path: "/b/c"'],
    [{ op: "add", path: "/a/b/c", value: 1 }, "doc is missing path"],
    [{ op: "test", path: "/a", value: 2 }, "testing value /a failed"],
    [{ op: "remove", path: "" }, "cannot remove the whole document"],
    [{ op: "add", path: "/list/5", value: 1 }, 'doc is missing path: "/list/5"'],
    [{ op: "remove", path: "/list/1" }, 'doc is missing path: "/list/1"'],
    [{ op: "replace", path: "/list/x", value: 1 }, "invalid array index"],
    [{ op: "add", path: "/list/x/y", value: 1 }, "invalid array index"],
  ])("answers %j, which does not apply, with a 422", (op, message) => {
    expect(failure([op], { a: 1, list: ["only"] })).toEqual({ code: 422, message: expect.stringContaining(message) as unknown as string });
  });
});
