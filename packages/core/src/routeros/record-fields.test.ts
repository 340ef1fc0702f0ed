import { FieldLayout, RecordFields } from "./record-fields.js";

describe("RecordFields", () => {
  const layout = new FieldLayout(["slot", "size", "type"]);
  const fields = new RecordFields(layout, ["pvc-1", "1024", "file"]);

  it("reads values by exact key", () => {
    expect(fields.get("size")).toBe("1024");
    expect(fields.has("type")).toBe(true);
    expect(fields.get("file-size")).toBeUndefined();
    expect(fields.has("siz")).toBe(false);
    expect(fields.size).toBe(3);
  });

  it("iterates in print order, like a Map", () => {
    expect([...fields]).toEqual([
      ["slot", "pvc-1"],
      ["size", "1024"],
      ["type", "file"],
    ]);
    expect([...fields.keys()]).toEqual(["slot", "size", "type"]);
    expect([...fields.values()]).toEqual(["pvc-1", "1024", "file"]);
    expect([...fields.entries()]).toEqual([...new Map(fields)]);
    const seen: string[] = [];
    const context = { prefix: ">" };
    fields.forEach(function (this: typeof context, value, key, map) {
      expect(map).toBe(fields);
      seen.push(`${this.prefix}${key}=${value}`);
    }, context);
    expect(seen).toEqual([">slot=pvc-1", ">size=1024", ">type=file"]);
  });

  it("shares a layout between records without sharing their values", () => {
    const other = new RecordFields(layout, ["pvc-2", "2048", "file"]);
    expect(other.get("slot")).toBe("pvc-2");
    expect(fields.get("slot")).toBe("pvc-1");
    expect(other.valueAt(1)).toBe("2048");
    expect(other.valueAt(3)).toBeUndefined();
  });

  it("never reads a prototype member as a field", () => {
    for (const key of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) {
      expect([key, fields.get(key), fields.has(key)]).toEqual([key, undefined, false]);
    }
  });

  it("reads fields named like prototype members as themselves", () => {
    const keys = ["__proto__", "constructor", "toString", "hasOwnProperty"];
    const odd = new RecordFields(new FieldLayout(keys), ["a", "b", "c", "d"]);
    expect(keys.map((key) => odd.get(key))).toEqual(["a", "b", "c", "d"]);
    expect([...odd]).toEqual([
      ["__proto__", "a"],
      ["constructor", "b"],
      ["toString", "c"],
      ["hasOwnProperty", "d"],
    ]);
    expect(odd.get("valueOf")).toBeUndefined();
  });

  it("refuses a layout with a key twice and values that do not fit the layout", () => {
    expect(() => new FieldLayout(["size", "type", "size"])).toThrow(/duplicate key/);
    expect(() => new RecordFields(layout, ["pvc-1", "1024"])).toThrow(/3 keys but 2 values/);
  });
});
