import { AbortedError, InvalidArgumentError } from "@rds-csi/core";
import { checkPageRequest, pageById } from "./pagination.js";

const isToken = (token: string): boolean => /^v\d$/.test(token);
const id = (item: string): string => item;

describe("pagination by id", () => {
  it("checks the request before anything is listed", () => {
    expect(() => checkPageRequest({ maxEntries: -1, startingToken: "" }, isToken)).toThrow(new InvalidArgumentError("max_entries must not be negative (got -1)"));
    expect(() => checkPageRequest({ maxEntries: 0, startingToken: "bogus" }, isToken)).toThrow(AbortedError);
    expect(() => checkPageRequest({ maxEntries: 0, startingToken: "v1" }, isToken)).not.toThrow();
  });

  it("pages through a sorted listing and ends with an empty token", () => {
    const items = ["v3", "v1", "v2", "v5", "v4"];
    const first = pageById(items, id, { maxEntries: 2, startingToken: "" });
    expect(first).toEqual({ entries: ["v1", "v2"], nextToken: "v2" });
    expect(pageById(items, id, { maxEntries: 2, startingToken: "v2" })).toEqual({ entries: ["v3", "v4"], nextToken: "v4" });
    expect(pageById(items, id, { maxEntries: 2, startingToken: "v4" })).toEqual({ entries: ["v5"], nextToken: "" });
    expect(pageById(items, id, { maxEntries: 0, startingToken: "" })).toEqual({ entries: ["v1", "v2", "v3", "v4", "v5"], nextToken: "" });
    expect(pageById(items, id, { maxEntries: 5, startingToken: "" }).nextToken).toBe("");
  });

  it("keeps a token valid when its item and others come and go", () => {
    // The token v2 was issued; then v2 and v1 were deleted and v0, v3a were added.
    expect(pageById(["v0", "v3", "v3a", "v4"], id, { maxEntries: 2, startingToken: "v2" })).toEqual({ entries: ["v3", "v3a"], nextToken: "v3a" });
  });
});
