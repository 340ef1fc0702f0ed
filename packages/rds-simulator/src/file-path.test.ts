import { parentDirectories, poolFileName } from "./file-path.js";

describe("poolFileName", () => {
  it("turns a path on the pool into a RouterOS file name", () => {
    expect(poolFileName("/raid10/vols/pvc-1.img", "raid10")).toBe("raid10/vols/pvc-1.img");
  });

  it.each(["raid10/x.img", "/raid10", "/raid10//x.img", "/raid10/../x.img", "/raid10/./x.img", "/raid10/x\n.img", "/raid10/"])(
    "refuses %j as an invalid value",
    (path) => {
      expect(() => poolFileName(path, "raid10")).toThrow("invalid value for argument file-path");
    },
  );

  it("refuses a path outside the pool", () => {
    expect(() => poolFileName("/flash/x.img", "raid10")).toThrow("failure: file-path is not on a mounted disk");
  });
});

describe("parentDirectories", () => {
  it("lists the directories between the mount point and the file", () => {
    expect(parentDirectories("raid10/x.img")).toEqual([]);
    expect(parentDirectories("raid10/a/b/x.img")).toEqual(["raid10/a", "raid10/a/b"]);
  });
});
