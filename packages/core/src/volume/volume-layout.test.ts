import { InvalidArgumentError } from "../errors.js";
import { VolumeLayout } from "./volume-layout.js";

describe("VolumeLayout", () => {
  const layout = new VolumeLayout({ basePath: "/raid10/csi", nqnPrefix: "nqn.2000-02.com.mikrotik" });

  it("derives file path, NQN and pool from the id", () => {
    expect(layout.filePath("pvc-1")).toBe("/raid10/csi/pvc-1.img");
    expect(layout.nqn("pvc-1")).toBe("nqn.2000-02.com.mikrotik:pvc-1");
    expect(layout.pool).toBe("raid10");
  });

  it.each([
    ["/raid10/csi/pvc-1.img", true],
    ["/raid10/csi-evil/pvc-1.img", false],
    ["/raid10/csi/nested/pvc-1.img", false],
    ["/raid10/pvc-1.img", false],
    [undefined, false],
  ])("holds %p: %p", (path, held) => {
    expect(layout.holdsFile(path)).toBe(held);
  });

  it.each(["raid10/csi", "/raid10/csi/", "/raid10/../etc", "/raid 10", "/"])("refuses base path %p", (basePath) => {
    expect(() => new VolumeLayout({ basePath, nqnPrefix: "nqn.2000-02.com.mikrotik" })).toThrow(InvalidArgumentError);
  });

  it("refuses an NQN prefix that is not one", () => {
    expect(() => new VolumeLayout({ basePath: "/raid10/csi", nqnPrefix: "iqn.2000-02.com.mikrotik" })).toThrow(/NQN prefix/);
  });
});
