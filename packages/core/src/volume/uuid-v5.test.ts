import { uuidV5 } from "./uuid-v5.js";

const DNS = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";

describe("uuidV5", () => {
  it("matches RFC 4122 name-based UUIDs as other implementations compute them", () => {
    // Python's documentation example: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org").
    expect(uuidV5(DNS, "python.org")).toBe("886313e1-3b8a-5372-9b90-0c9aee199e5d");
    expect(uuidV5(DNS, "my-volume")).toBe("048fb259-4cb7-5f06-887c-eadbf0c29a0d");
  });

  it("hashes the name as UTF-8", () => {
    expect(uuidV5(DNS, "volume-é")).not.toBe(uuidV5(DNS, "volume-e"));
    expect(uuidV5(DNS, "volume-é")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("refuses a namespace that is not a lower-case UUID", () => {
    expect(() => uuidV5("not-a-uuid", "x")).toThrow('uuidV5 namespace "not-a-uuid" is not a lower-case UUID');
  });
});
