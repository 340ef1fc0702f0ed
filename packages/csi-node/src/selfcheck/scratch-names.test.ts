import { isStaleScratch, scratchNames, scratchOwner } from "./scratch-names.js";

const HOST = "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-1111-4222-8333-444444444444";
const OTHER = "nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-1111-4222-8333-444444444444";
const HOUR = 3_600_000;

describe("scratch names", () => {
  const started = new Date("2026-11-26T10:00:00Z");
  const names = scratchNames(HOST, started, "0123abcd");

  it("carry the driver's slot prefixes, so the RDS client's ownership rules apply", () => {
    expect(names.source).toMatch(/^pvc-selfcheck-[0-9a-f]{8}-[0-9a-z]+-0123abcd$/);
    expect(names.snapshot).toBe(names.source.replace(/^pvc-/, "snap-"));
    expect(names.restored).toBe(`${names.source}-restore`);
    expect(names.clone).toBe(`${names.source}-clone`);
  });

  it("say who made them and when; anything else is not a scratch object", () => {
    for (const id of Object.values(names)) expect(scratchOwner(id)?.startedAt).toEqual(started);
    expect(scratchOwner("pvc-5b0c1f2e-0000-4000-8000-123456789abc")).toBeUndefined();
    expect(scratchOwner("pvc-selfcheck-zz-1-0123abcd")).toBeUndefined();
    expect(scratchOwner(`${names.source}-extra`)).toBeUndefined();
  });

  it("are stale when this host made them, or when another host's are older than a run can last", () => {
    const soon = new Date(started.getTime() + 60_000);
    expect(isStaleScratch(names.source, HOST, soon, HOUR)).toBe(true);
    expect(isStaleScratch(names.source, OTHER, soon, HOUR)).toBe(false);
    expect(isStaleScratch(names.source, OTHER, new Date(started.getTime() + 2 * HOUR), HOUR)).toBe(true);
    expect(isStaleScratch("pvc-5b0c1f2e-0000-4000-8000-123456789abc", HOST, soon, HOUR)).toBe(false);
  });
});
