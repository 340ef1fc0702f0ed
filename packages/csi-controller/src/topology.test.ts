import { accessibleTopology, satisfiesRequirement, withinTopology } from "./topology.js";

const segment = { key: "topology.rds.csi.srvlab.io/rds", value: "rack1" };
const at = (value: string, key = segment.key) => ({ segments: { [key]: value } });

describe("topology", () => {
  it("reports the configured segment, or none", () => {
    expect(accessibleTopology(segment)).toEqual([at("rack1")]);
    expect(accessibleTopology(undefined)).toEqual([]);
  });

  it("satisfies a requirement whose requisite includes the segment", () => {
    expect(satisfiesRequirement(segment, { requisite: [at("rack2"), at("rack1")], preferred: [] })).toBe(true);
    expect(satisfiesRequirement(segment, { requisite: [at("rack2")], preferred: [at("rack1")] })).toBe(false);
    expect(satisfiesRequirement(segment, { requisite: [at("rack1", "other/key")], preferred: [] })).toBe(false);
    expect(satisfiesRequirement(segment, { requisite: [], preferred: [at("rack2")] })).toBe(true);
    expect(satisfiesRequirement(segment, undefined)).toBe(true);
    expect(satisfiesRequirement(undefined, { requisite: [at("rack2")], preferred: [] })).toBe(true);
  });

  it("has capacity only within the segment", () => {
    expect(withinTopology(segment, at("rack1"))).toBe(true);
    expect(withinTopology(segment, at("rack2"))).toBe(false);
    expect(withinTopology(segment, undefined)).toBe(true);
    expect(withinTopology(undefined, at("rack2"))).toBe(true);
  });
});
