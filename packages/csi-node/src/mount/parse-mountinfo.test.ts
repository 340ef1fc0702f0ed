import { MountInfoParseError, parseMountInfo, parseMountInfoLine, visibleMounts } from "./parse-mountinfo.js";

describe("parseMountInfo", () => {
  it("parses every field, with optional fields up to '-'", () => {
    const e = parseMountInfoLine("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue");
    expect(e).toEqual({
      mountId: 36, parentId: 35, major: 98, minor: 0, majorMinor: "98:0", root: "/mnt1", mountPoint: "/mnt2",
      mountOptions: ["rw", "noatime"], optionalFields: ["master:1", "shared:7"], fsType: "ext3",
      source: "/dev/root", superOptions: ["rw", "errors=continue"],
    });
  });

  it("parses a line without optional fields", () => {
    const e = parseMountInfoLine("42 27 259:3 / /var/lib/kubelet/x rw,relatime - xfs /dev/nvme1n1 rw,attr2");
    expect(e.optionalFields).toEqual([]);
    expect(e.majorMinor).toBe("259:3");
    expect(e.fsType).toBe("xfs");
  });

  it("decodes octal escapes in paths and source", () => {
    const e = parseMountInfoLine("50 1 7:1 /a\\134b /mnt/with\\040space\\011tab\\012nl rw - ext4 /dev/my\\040dev rw");
    expect(e.root).toBe("/a\\b");
    expect(e.mountPoint).toBe("/mnt/with space\ttab\nnl");
    expect(e.source).toBe("/dev/my dev");
  });

  it("skips blank lines and numbers errors by line", () => {
    const text = "1 0 0:1 / / rw - rootfs rootfs rw\n\n2 1 0:2 / /proc rw - proc proc rw\n";
    expect(parseMountInfo(text).map((e) => e.mountPoint)).toEqual(["/", "/proc"]);
    expect(() => parseMountInfo("1 0 0:1 / / rw - rootfs rootfs rw\ngarbage line")).toThrow(MountInfoParseError);
    expect(() => parseMountInfo("1 0 0:1 / / rw - rootfs rootfs rw\ngarbage line")).toThrow(/line 2/);
    expect(() => parseMountInfoLine("1 0 zz / / rw - ext4 /dev/x rw")).toThrow(/major:minor/);
  });

  it("a mount point mounted twice: the last entry wins in visibleMounts, both kept in order", () => {
    const text = [
      "60 1 7:0 / /mnt/t rw - ext4 /dev/loop0 rw",
      "61 60 7:1 / /mnt/t ro - xfs /dev/loop1 rw",
    ].join("\n");
    const all = parseMountInfo(text);
    expect(all.filter((e) => e.mountPoint === "/mnt/t").map((e) => e.source)).toEqual(["/dev/loop0", "/dev/loop1"]);
    expect(visibleMounts(all).get("/mnt/t")?.source).toBe("/dev/loop1");
  });
});
