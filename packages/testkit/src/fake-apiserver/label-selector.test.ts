import { parseLabelSelector } from "./label-selector.js";
import { ApiError } from "./status.js";

describe("parseLabelSelector", () => {
  const labels = { app: "db", tier: "backend", "rds.csi/owned": "" };

  it.each([
    ["", true],
    ["app=db", true],
    ["app==db", true],
    ["app = db", true],
    ["app=web", false],
    ["app!=web", true],
    ["app!=db", false],
    ["missing!=x", true],
    ["app in (db,web)", true],
    ["app in (web, cache)", false],
    ["missing in (db)", false],
    ["app notin (web)", true],
    ["app notin (db)", false],
    ["missing notin (db)", true],
    ["app", true],
    ["missing", false],
    ["!missing", true],
    ["!app", false],
    ["rds.csi/owned", true],
    ["rds.csi/owned=", true],
    ["app=db,tier in (backend),!missing", true],
    ["app=db,tier=frontend", false],
  ])("%j matches %j: %s", (selector, expected) => {
    expect(parseLabelSelector(selector)(labels)).toBe(expected);
  });

  it("treats missing labels as an empty map", () => {
    expect(parseLabelSelector("!app")(undefined)).toBe(true);
    expect(parseLabelSelector("app")(undefined)).toBe(false);
  });

  it.each(["app=db,", "=db", "app in db", "app in (a b)", "app > 1", "app=d b"])("rejects %j with a 400", (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(ApiError);
    try {
      parseLabelSelector(selector);
    } catch (err) {
      expect((err as ApiError).status).toMatchObject({ code: 400, reason: "BadRequest" });
    }
  });
});
